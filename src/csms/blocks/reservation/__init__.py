"""H Reservation: ReserveNow and CancelReservation (1.6 §5.13, §5.1; 2.0.1 H01-H02) as operator
commands; a reservation is consumed by the StartTransaction that names it (blocks/transactions)."""
