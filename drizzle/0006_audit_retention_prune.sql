-- Retention pruning is the one way rows may leave audit_events. The pruning
-- code (lib/audit/prune.ts) sets sandbox_console.audit_prune_through to the
-- id of the newest row it removes, for its own transaction only, and must
-- remove every row up to that id in one DELETE. Any other UPDATE or DELETE
-- is still rejected. Anyone who can set the setting can also disable the
-- triggers, so this guards against mistakes, and the hash chain and the
-- prune record in it are what show a removal made outside this path.
CREATE OR REPLACE FUNCTION "audit_events_reject_change"() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE'
     AND coalesce(current_setting('sandbox_console.audit_prune_through', true), '') <> '' THEN
    RETURN NULL;
  END IF;
  RAISE EXCEPTION 'audit_events is append-only: % is not allowed', TG_OP
    USING HINT = 'Record a new audit event instead of changing an old one. '
      'Old rows are removed only by retention pruning (scripts/prune-audit.ts).';
END;
$$;
--> statement-breakpoint
CREATE FUNCTION "audit_events_check_prune"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  through_id bigint := current_setting('sandbox_console.audit_prune_through')::bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM removed WHERE id > through_id) THEN
    RAISE EXCEPTION 'audit pruning may remove only rows up to id %', through_id;
  END IF;
  IF EXISTS (SELECT 1 FROM audit_events WHERE id <= through_id) THEN
    RAISE EXCEPTION 'audit pruning must remove every row up to id % in one DELETE', through_id;
  END IF;
  RETURN NULL;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "audit_events_prune_prefix"
  AFTER DELETE ON "audit_events"
  REFERENCING OLD TABLE AS removed
  FOR EACH STATEMENT EXECUTE FUNCTION "audit_events_check_prune"();
