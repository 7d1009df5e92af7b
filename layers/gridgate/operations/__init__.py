"""Operations on the running system (key rotation)."""
