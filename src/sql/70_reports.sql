/* --- scheduled joint reports (src/scheduler.c) --- */

-- Written only by smpc (the scheduling functions, the scheduler and the
-- report workers, as the extension owner); read through the views below.
CREATE TABLE report (
    report_id     integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    report_name   text NOT NULL UNIQUE
        CHECK (report_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    owner         regrole NOT NULL,
    schedule      text NOT NULL,
    timezone      text NOT NULL,
    query         text NOT NULL,
    target_schema name NOT NULL,
    target_table  name NOT NULL,
    paused        boolean NOT NULL DEFAULT false,
    max_retries   integer NOT NULL DEFAULT 3 CHECK (max_retries BETWEEN 0 AND 20),
    retry_delay   interval NOT NULL DEFAULT '1 minute',
    next_run_at   timestamptz NOT NULL,
    retry_at      timestamptz,
    retry_attempt integer NOT NULL DEFAULT 1 CHECK (retry_attempt >= 1),
    created_at    timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE report IS
  'scheduled joint reports (write with smpc.schedule_report and friends)';
COMMENT ON COLUMN report.owner IS
  'the role that scheduled the report; every run logs in as this role';
COMMENT ON COLUMN report.timezone IS
  'the time zone a cron schedule is read in: the scheduling session''s TimeZone';
COMMENT ON COLUMN report.next_run_at IS
  'the next slot of the schedule';
COMMENT ON COLUMN report.retry_at IS
  'when a failed run is retried, if before next_run_at';

CREATE TABLE report_run (
    run_id        bigint PRIMARY KEY,
    report_id     integer NOT NULL,
    report_name   text NOT NULL,
    owner         regrole NOT NULL,
    trigger       text NOT NULL
        CHECK (trigger IN ('schedule', 'retry', 'catch-up', 'manual')),
    attempt       integer NOT NULL CHECK (attempt >= 1),
    scheduled_for timestamptz,
    started_at    timestamptz NOT NULL,
    finished_at   timestamptz,
    status        text NOT NULL
        CHECK (status IN ('running', 'succeeded', 'failed', 'skipped')),
    rows          bigint,
    error         text,
    sqlstate      text,
    session_ids   bytea[],
    pid           integer,
    CHECK ((status = 'running') = (finished_at IS NULL))
);

CREATE SEQUENCE report_run_id_seq OWNED BY report_run.run_id;
CREATE INDEX report_run_report_idx ON report_run (report_id, started_at);
CREATE INDEX report_run_running_idx ON report_run (run_id) WHERE status = 'running';

COMMENT ON TABLE report_run IS
  'one row per run of a scheduled report, kept after the report is unscheduled';
COMMENT ON COLUMN report_run.session_ids IS
  'ids of the joint sessions the run started, as in smpc.audit_log.session_id';
COMMENT ON COLUMN report_run.scheduled_for IS
  'the schedule slot the run is for; NULL for a manual run';

SELECT pg_catalog.pg_extension_config_dump('report', '');
SELECT pg_catalog.pg_extension_config_dump('report_run', '');
SELECT pg_catalog.pg_extension_config_dump('report_run_id_seq', '');

REVOKE ALL ON report, report_run, report_run_id_seq FROM PUBLIC;

-- Each role sees the reports of the roles it belongs to; superusers and
-- pg_read_all_stats see every report.
CREATE VIEW reports WITH (security_barrier) AS
SELECT r.report_id, r.report_name, r.owner, r.schedule, r.timezone, r.query,
       format('%I.%I', r.target_schema, r.target_table) AS target,
       r.paused, r.max_retries, r.retry_delay, r.next_run_at,
       r.retry_at, r.retry_attempt, r.created_at
  FROM report r
 WHERE pg_catalog.pg_has_role(r.owner, 'USAGE')
    OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
 ORDER BY r.report_name COLLATE "C";

CREATE VIEW report_runs WITH (security_barrier) AS
SELECT u.run_id, u.report_id, u.report_name, u.owner, u.trigger, u.attempt,
       u.scheduled_for, u.started_at, u.finished_at, u.status, u.rows,
       u.error, u.sqlstate, u.session_ids, u.pid
  FROM report_run u
 WHERE pg_catalog.pg_has_role(u.owner, 'USAGE')
    OR pg_catalog.pg_has_role('pg_read_all_stats', 'USAGE')
 ORDER BY u.run_id;

COMMENT ON VIEW reports IS
  'scheduled reports of the roles the current role belongs to';
COMMENT ON VIEW report_runs IS
  'run history of the reports of the roles the current role belongs to';

REVOKE ALL ON reports, report_runs FROM PUBLIC;
GRANT SELECT ON reports, report_runs TO PUBLIC;

CREATE FUNCTION schedule_report(report_name text, schedule text, query text,
                                target text,
                                max_retries integer DEFAULT 3,
                                retry_delay interval DEFAULT '1 minute',
                                replace boolean DEFAULT false)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'smpc_schedule_report'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION schedule_report(text, text, text, text, integer, interval, boolean) IS
  'run a query on a schedule (cron or interval) as the calling role, appending its rows to a table; returns the first run time';

CREATE FUNCTION unschedule_report(report_name text)
RETURNS void
AS 'MODULE_PATHNAME', 'smpc_unschedule_report'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION pause_report(report_name text)
RETURNS void
AS 'MODULE_PATHNAME', 'smpc_pause_report'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION resume_report(report_name text)
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'smpc_resume_report'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION run_report(report_name text, wait boolean DEFAULT true)
RETURNS bigint
AS 'MODULE_PATHNAME', 'smpc_run_report'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION next_run(schedule text, after timestamptz DEFAULT now())
RETURNS timestamptz
AS 'MODULE_PATHNAME', 'smpc_next_run'
LANGUAGE C STRICT STABLE;

COMMENT ON FUNCTION unschedule_report(text) IS
  'stop running a report for good; its history stays';
COMMENT ON FUNCTION pause_report(text) IS
  'stop running a report until resume_report';
COMMENT ON FUNCTION resume_report(text) IS
  'run a paused report again from its next slot; returns that slot';
COMMENT ON FUNCTION run_report(text, boolean) IS
  'run a report now in a background worker; returns the run id (waits for the run unless wait is false)';
COMMENT ON FUNCTION next_run(text, timestamptz) IS
  'the first time after "after" that a schedule (cron expression or interval) fires';

-- A DBA grants these to the roles that may schedule reports.
REVOKE ALL ON FUNCTION schedule_report(text, text, text, text, integer, interval, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION unschedule_report(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION pause_report(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION resume_report(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION run_report(text, boolean) FROM PUBLIC;
