/**
 * The engine's refusals in French, by their stable code. The engine words its messages in
 * English (for logs, scripts and the English screen); a French screen shows these instead:
 * what happened and what to do next. A code not listed here shows the engine's own message.
 */
export const errorsFr: Readonly<Record<string, string>> = {
  // Session and approvals.
  pin_wrong: 'Code inconnu ici : retapez-le.',
  not_logged_in: 'Session terminée : reconnectez-vous avec votre code.',
  approval_refused: 'Ce n’est pas un code responsable : demandez à un responsable de taper le sien.',
  manager_only: 'Réservé aux responsables : connectez-vous avec un code responsable.',
  // Catalog and cart.
  unknown_barcode: 'Code-barres inconnu : cherchez l’article par son nom ou sa catégorie.',
  unknown_product: 'Article absent du catalogue de la caisse : cherchez-le par son nom, ou synchronisez la caisse.',
  cart_empty: 'Le panier est vide.',
  ticket_empty: 'Le ticket est vide : ajoutez au moins un article.',
  quantity_not_positive: 'La quantité doit être supérieure à zéro.',
  quantity_wrong_unit: 'Cet article se vend à l’unité ou au poids : corrigez la quantité.',
  quantity_too_large: 'Quantité trop grande pour une seule ligne : vérifiez la saisie.',
  serial_missing: 'Saisissez ou scannez l’IMEI de chaque appareil de la ligne.',
  serial_invalid: 'IMEI invalide : vérifiez les 15 chiffres ou scannez l’étiquette de la boîte.',
  serial_duplicate: 'Cet IMEI est déjà saisi sur ce ticket.',
  serial_unexpected: 'Cet article ne prend pas d’IMEI : retirez-le.',
  discount_too_large: 'La remise dépasse le prix : réduisez-la.',
  discount_invalid: 'Remise invalide : un pourcentage entre 0 et 100, ou un montant.',
  percent_invalid: 'Pourcentage invalide : un nombre entre 0 et 100.',
  price_negative: 'Un prix ne peut pas être négatif.',
  unknown_parked_cart: 'Ce panier en attente n’existe plus : il a déjà été repris.',
  // Payment.
  amount_invalid: 'Montant invalide : tapez par exemple 12,50.',
  amount_negative: 'Le montant ne peut pas être négatif.',
  tender_not_positive: 'Un paiement doit être supérieur à zéro.',
  tenders_short: 'Les paiements ne couvrent pas le total : ajoutez un paiement.',
  change_without_cash: 'La monnaie ne se rend qu’en espèces : ajustez le montant du paiement.',
  card_without_payment: 'Lancez d’abord le paiement sur le terminal de paiement.',
  payment_not_approved: 'Le paiement par carte n’est pas accepté : choisissez un autre moyen de paiement.',
  payment_amount_mismatch: 'Le montant payé par carte ne correspond pas : annulez-le et relancez le paiement.',
  payment_used_twice: 'Ce paiement par carte figure deux fois : retirez-en un.',
  payment_used: 'Ce paiement par carte est déjà enregistré sur un ticket.',
  payment_in_progress: 'Un paiement est en cours sur le terminal : attendez sa fin ou annulez-le.',
  payment_unresolved: 'Un paiement au résultat inconnu attend : indiquez d’abord s’il a été accepté.',
  no_terminal: 'Aucun terminal de paiement n’est configuré : prenez un autre moyen de paiement ; un responsable le configure dans les réglages.',
  cancel_failed: 'Le terminal n’a pas annulé le paiement : annulez-le sur le terminal lui-même.',
  // Returns.
  unknown_ticket: 'Ticket introuvable sur cette caisse : vérifiez le numéro.',
  qr_not_a_receipt: 'Ce QR code n’est pas celui d’un ticket de cette caisse.',
  not_a_sale: 'Ce ticket n’est pas une vente : seule une vente se retourne.',
  original_not_a_sale: 'Ce ticket n’est pas une vente : seule une vente se retourne.',
  return_exceeds_sale: 'On ne peut pas retourner plus que ce qui a été vendu.',
  nothing_left_to_return: 'Tout a déjà été retourné sur ce ticket.',
  serial_not_returnable: 'Cet IMEI n’a pas été vendu sur ce ticket.',
  refund_mismatch: 'Le remboursement doit égaler exactement le montant du retour.',
  refund_needs_card: 'Vente payée par carte : remboursez sur la carte (terminal), en espèces ou en avoir.',
  // Click & collect.
  unknown_web_order: 'Commande web inconnue de cette caisse : synchronisez la caisse.',
  web_order_cancelled: 'Commande annulée en ligne : ne la remettez pas, remettez les articles en rayon.',
  web_order_closed: 'Cette commande a déjà été remise ou refusée.',
  pickup_code_wrong: 'Ce n’est pas le code de retrait de cette commande : vérifiez le message ou le QR code du client.',
  pickup_code_unknown: 'Aucune commande à retirer n’a ce code : vérifiez-le avec le client, ou cherchez la commande par sa référence.',
  picked_lines_invalid: 'Quantités remises invalides : entre 0 et la quantité commandée, et au moins un article.',
  nothing_to_pay: 'Commande payée en ligne : n’encaissez rien.',
  reason_missing: 'Indiquez le motif du refus.',
  // Head office and devices.
  not_enrolled: 'Caisse non rattachée au siège : un responsable la rattache dans les réglages.',
  server_unreachable: 'Siège injoignable : vérifiez le réseau. La caisse continue de vendre hors ligne.',
  server_refused: 'Le siège a refusé le rattachement : vérifiez le code qu’il a donné pour cette caisse.',
  device_uri_invalid: 'Adresse d’appareil invalide : par exemple tcp://192.168.1.50:9100, serial:///dev/ttyUSB0 ou none.',
};
