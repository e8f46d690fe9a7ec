-- Audit rows are evidence: once written they may not be changed or removed.
-- A statement-level trigger rejects every UPDATE and DELETE on audit_events,
-- even one that matches no rows. TRUNCATE is not covered by this trigger, and
-- the table owner can still disable it, which is why each row also carries a
-- hash chain that lib/audit/hash.ts verifies.
CREATE FUNCTION "audit_events_reject_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
    USING HINT = 'Record a new audit event instead of changing an old one.';
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_events_append_only"
  BEFORE UPDATE OR DELETE ON "audit_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_reject_change"();
