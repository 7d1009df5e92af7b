"""Reading QR codes from gate-camera images (`gridgate.qr.decode`)."""
