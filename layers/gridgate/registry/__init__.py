"""The registry: importing the data center's export, and applying reconciliation's findings to it."""
