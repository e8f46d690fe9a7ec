CREATE INDEX "audit_events_actor_idx" ON "audit_events" USING btree ("actor","id");--> statement-breakpoint
CREATE INDEX "audit_events_action_idx" ON "audit_events" USING btree ("action" text_pattern_ops,"id");--> statement-breakpoint
CREATE INDEX "audit_events_result_idx" ON "audit_events" USING btree ("result","id");--> statement-breakpoint
CREATE INDEX "audit_events_name_idx" ON "audit_events" USING btree ("instance","id");--> statement-breakpoint
CREATE INDEX "audit_events_search_idx" ON "audit_events" USING gin (to_tsvector('simple'::regconfig, coalesce("params"::text, '') || ' ' || coalesce("error", '')));