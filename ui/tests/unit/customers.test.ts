import { describe, expect, it } from 'vitest';
import { customerLine, formFromSearch, searchable, toCustomerInput } from '../../src/lib/customers';

describe('the customer panel', () => {
  it('prefills the new customer form from what was searched', () => {
    expect(formFromSearch(' zoe@example.fr ')).toEqual({ name: '', phone: '', email: 'zoe@example.fr' });
    expect(formFromSearch('06 12 34 56 78')).toEqual({ name: '', phone: '06 12 34 56 78', email: '' });
    expect(formFromSearch('+44 (20) 7946-0958')).toEqual({ name: '', phone: '+44 (20) 7946-0958', email: '' });
    expect(formFromSearch('  Zoé   Lefèvre ')).toEqual({ name: 'Zoé Lefèvre', phone: '', email: '' });
    expect(formFromSearch('')).toEqual({ name: '', phone: '', email: '' });
  });

  it('sends only the fields typed', () => {
    expect(toCustomerInput({ name: ' Zoé ', phone: ' ', email: 'zoe@example.fr ' })).toEqual({ name: 'Zoé', email: 'zoe@example.fr' });
    expect(toCustomerInput({ name: 'Zoé', phone: '0612345678', email: '' })).toEqual({ name: 'Zoé', phone: '0612345678' });
  });

  it('searches from two letters or two digits', () => {
    expect(searchable('z')).toBe(false);
    expect(searchable('zo')).toBe(true);
    expect(searchable('0')).toBe(false);
    expect(searchable('+3')).toBe(false);
    expect(searchable('06')).toBe(true);
    expect(searchable('  ')).toBe(false);
  });

  it('shows a customer on one line, with the phone as read in France', () => {
    expect(customerLine({ id: 'x', name: 'Zoé', phone: '+33612345678', phone_display: '06 12 34 56 78', email: 'zoe@example.fr' })).toBe(
      'Zoé · 06 12 34 56 78 · zoe@example.fr',
    );
    expect(customerLine({ id: 'x', name: 'Amy', phone: null, phone_display: null, email: 'amy@example.co.uk' })).toBe('Amy · amy@example.co.uk');
  });
});
