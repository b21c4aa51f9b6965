/**
 * The customer panel's display logic, kept pure for unit tests: what a search text becomes when
 * the cashier creates a customer from it, when a search is worth sending, and how a customer
 * is shown on one line.
 */
import type { CustomerInput, CustomerView } from './api/generated/api';

/** Typed like a phone number: digits, spaces, dots, dashes, brackets, a leading +. */
const PHONE_LIKE = /^\+?[\d\s.\-()/]+$/;

/** The form's fields, as strings (empty when not typed). */
export interface CustomerForm {
  name: string;
  phone: string;
  email: string;
}

/** The create form prefilled from what was typed in the search: an e-mail, a phone or a name. */
export function formFromSearch(text: string): CustomerForm {
  const typed = text.trim();
  if (typed.includes('@')) return { name: '', phone: '', email: typed };
  if (typed !== '' && PHONE_LIKE.test(typed) && /\d/.test(typed)) return { name: '', phone: typed, email: '' };
  return { name: typed.replace(/\s+/g, ' '), phone: '', email: '' };
}

/** The form as the engine takes it: blank fields left out. */
export function toCustomerInput(form: CustomerForm): CustomerInput {
  const input: CustomerInput = { name: form.name.trim() };
  if (form.phone.trim()) input.phone = form.phone.trim();
  if (form.email.trim()) input.email = form.email.trim();
  return input;
}

/** Whether a search is worth sending: two letters of a word, or two digits of a number. */
export function searchable(text: string): boolean {
  const typed = text.trim();
  if (PHONE_LIKE.test(typed)) return (typed.match(/\d/g)?.length ?? 0) >= 2;
  return typed.length >= 2;
}

/** One line for a customer: name, then phone (as read in France), then e-mail. */
export function customerLine(c: CustomerView): string {
  return [c.name, c.phone_display ?? c.phone, c.email].filter((part): part is string => !!part).join(' · ');
}
