CREATE TABLE "limit_presets" (
	"name" text PRIMARY KEY NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"limits" jsonb NOT NULL,
	"updated_by" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "lxd_hosts" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"url" text NOT NULL,
	"server_certificate" text NOT NULL,
	"server_fingerprint" text NOT NULL,
	"client_certificate" text NOT NULL,
	"client_key" text NOT NULL,
	"added_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "operation_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"host" text NOT NULL,
	"lxd_operation_id" text NOT NULL,
	"action" text,
	"description" text NOT NULL,
	"project" text,
	"instance" text,
	"status" text NOT NULL,
	"progress" text,
	"error" text,
	"actor" text,
	"correlation_id" uuid,
	"may_cancel" boolean DEFAULT false NOT NULL,
	"started_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp (3) with time zone,
	CONSTRAINT "operation_history_status_check" CHECK ("operation_history"."status" in ('running', 'success', 'failure', 'cancelled'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "operation_history_host_operation_idx" ON "operation_history" USING btree ("host","lxd_operation_id");--> statement-breakpoint
CREATE INDEX "operation_history_started_at_idx" ON "operation_history" USING btree ("started_at");--> statement-breakpoint
-- The presets an admin starts with; they may be edited or removed later.
INSERT INTO "limit_presets" ("name", "description", "limits") VALUES
	('small', '1 CPU, 1 GiB of memory', '{"limits.cpu": "1", "limits.memory": "1GiB", "limits.processes": "500"}'),
	('medium', '2 CPUs, 2 GiB of memory', '{"limits.cpu": "2", "limits.memory": "2GiB", "limits.processes": "1000"}'),
	('large', '4 CPUs, 4 GiB of memory', '{"limits.cpu": "4", "limits.memory": "4GiB", "limits.processes": "2000"}')
ON CONFLICT ("name") DO NOTHING;
