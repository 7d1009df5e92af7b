"""Events out: access events for other systems (scoped webhook subscriptions, signed deliveries
with retries and dead letters, exports), with no more personal data than a subscriber's scope.
"""
