-- Scheduled reports (src/scheduler.c): schedules and their next slots, the
-- checks of smpc.schedule_report, ownership of the management functions,
-- USAGE on the federation for joint queries, and manual runs through
-- smpc.run_report, which starts a report worker in this database.  The
-- background scheduler runs reports of smpc.scheduler_database only
-- ('postgres'), so it never runs the reports of this file; the TAP test
-- 013_reports.pl covers it.
SET client_min_messages = error;
CREATE EXTENSION IF NOT EXISTS smpc;
RESET client_min_messages;

-- cron expressions, read in the session's time zone
SET TimeZone = 'UTC';
SELECT smpc.next_run('*/5 * * * *', '2026-11-21 10:03:00+00');
SELECT smpc.next_run('*/5 * * * *', '2026-11-21 10:05:00+00');
SELECT smpc.next_run('30 6 * * MON-FRI', '2026-11-21 10:00:00+00');  -- a Saturday
SELECT smpc.next_run('0 0 29 2 *', '2026-03-01 00:00:00+00');        -- next leap day
SELECT smpc.next_run('@monthly', '2026-12-31 23:59:59+00');
SELECT smpc.next_run('@HOURLY', '2026-11-21 10:00:00+00');
SELECT smpc.next_run('0 0 13 * FRI', '2026-11-01 00:00:00+00');      -- either day rule
SELECT smpc.next_run('0 2 * * *', '2026-03-28 12:00:00+00');
SET TimeZone = 'Europe/Berlin';
-- 02:30 does not exist on 2026-03-29 in Berlin; it fires at the next existing instant
SELECT smpc.next_run('30 2 * * *', '2026-03-28 12:00:00+01');
SELECT smpc.next_run('0 9 * * *', '2026-10-24 12:00:00+02');          -- across the DST end
SET TimeZone = 'UTC';
-- intervals fire one interval later
SELECT smpc.next_run('10 seconds', '2026-11-21 10:00:00+00');
SELECT smpc.next_run('1 mon', '2026-01-31 00:00:00+00');
-- refused schedules
SELECT smpc.next_run('61 * * * *');
SELECT smpc.next_run('* * * *');
SELECT smpc.next_run('0 0 30 2 *');
SELECT smpc.next_run('@reboot');
SELECT smpc.next_run('every day');
SELECT smpc.next_run('0.5 seconds');
SELECT smpc.next_run('-1 hour');

-- roles: an analyst that may schedule, a reader of its table, a stranger
CREATE ROLE rep_analyst LOGIN;
CREATE ROLE rep_reader LOGIN;
CREATE ROLE rep_stranger LOGIN;
CREATE ROLE rep_group NOLOGIN;
CREATE SCHEMA rep_out AUTHORIZATION rep_analyst;
CREATE SCHEMA rep_strange AUTHORIZATION rep_stranger;
GRANT USAGE ON SCHEMA rep_out TO rep_reader;
CREATE TABLE rep_sales (region text, amount int);
INSERT INTO rep_sales VALUES ('north', 10), ('north', 5), ('south', 7), (NULL, 1);
GRANT SELECT ON rep_sales TO rep_analyst;
GRANT EXECUTE ON FUNCTION
  smpc.schedule_report(text, text, text, text, integer, interval, boolean),
  smpc.unschedule_report(text), smpc.pause_report(text),
  smpc.resume_report(text), smpc.run_report(text, boolean)
  TO rep_analyst, rep_stranger, rep_group;

-- the functions are not for everyone
SET ROLE rep_reader;
SELECT smpc.schedule_report('r', '1 hour', 'SELECT 1 AS one', 'rep_out.r');
RESET ROLE;

-- what schedule_report checks, as the analyst
SET ROLE rep_analyst;
SELECT smpc.schedule_report('bad name', '1 hour', 'SELECT 1 AS one', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a, 2 AS a', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS run_at', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a; SELECT 2 AS b', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'DELETE FROM rep_sales', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a INTO rep_out.x', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour',
  'WITH d AS (DELETE FROM rep_sales RETURNING *) SELECT count(*) AS n FROM d', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT count(*) AS n FROM pg_authid', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT nope AS n FROM rep_sales', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', 'public.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', 'public.rep_sales');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', 'nosuchschema.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', 'pg_temp.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', 'db.rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', 'rep_out.r', max_retries => 21);
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', 'rep_out.r', retry_delay => '0');
SELECT smpc.schedule_report('bad', '61 * * * *', 'SELECT 1 AS a', 'rep_out.r');
SELECT smpc.schedule_report('bad', '1 hour', 'SELECT 1 AS a', NULL);

-- a good one: the scheduler of another database does not run it, so it warns
SELECT smpc.schedule_report('sales', '0 6 * * MON', $$
    SELECT region, sum(amount) AS total, count(*) AS n
      FROM public.rep_sales GROUP BY region ORDER BY region;  $$,
  'rep_out.sales_weekly') > now() AS first_run_ahead;
SET client_min_messages = error;
SELECT smpc.schedule_report('sales', '1 hour', 'SELECT 1 AS a', 'rep_out.x');
SELECT smpc.schedule_report('daily', '@daily', 'SELECT count(*) AS n FROM public.rep_sales',
                            'rep_out.daily') IS NOT NULL AS scheduled;
RESET client_min_messages;
SELECT report_name, owner, schedule, timezone, query, target, paused, max_retries, retry_delay,
       next_run_at > now() AS ahead
  FROM smpc.reports ORDER BY report_name;

-- a manual run: a background worker logged in as the owner creates the table
SELECT smpc.run_report('sales') AS run1 \gset
SELECT smpc.run_report('sales') AS run2 \gset
SELECT run_id - :run1 AS run, report_name, owner, trigger, attempt, scheduled_for,
       status, rows, error, sqlstate, finished_at >= started_at AS ordered,
       session_ids, pid <> pg_backend_pid() AS other_process
  FROM smpc.report_runs WHERE report_name = 'sales' ORDER BY run_id;
SELECT run_id - :run1 AS run, run_at = (SELECT started_at FROM smpc.report_runs r WHERE r.run_id = s.run_id)
         AS run_at_is_started_at,
       region, total, n
  FROM rep_out.sales_weekly s ORDER BY run_id, region;
SELECT tableowner FROM pg_tables WHERE schemaname = 'rep_out' AND tablename = 'sales_weekly';
-- waiting from a transaction that has written would wait on itself
BEGIN;
CREATE TABLE rep_out.scratch (a int);
SELECT smpc.run_report('sales');
ROLLBACK;

-- a failing run raises its error and SQLSTATE, adds no rows, is recorded
SET client_min_messages = error;
SELECT smpc.schedule_report('broken', '1 hour',
  'SELECT 1 / (count(*) - 4) AS x FROM public.rep_sales', 'rep_out.broken') IS NOT NULL;
RESET client_min_messages;
\set VERBOSITY sqlstate
SELECT smpc.run_report('broken');
\set VERBOSITY default
DO $$ BEGIN PERFORM smpc.run_report('broken');
EXCEPTION WHEN division_by_zero THEN RAISE NOTICE '%', regexp_replace(SQLERRM, 'run \d+', 'run N');
END $$;
SELECT to_regclass('rep_out.broken') IS NULL AS no_table;
SELECT trigger, status, rows, error, sqlstate FROM smpc.report_runs WHERE report_name = 'broken';

-- pause, resume, unschedule
SELECT smpc.pause_report('daily');
SELECT paused FROM smpc.reports WHERE report_name = 'daily';
SELECT smpc.resume_report('daily') > now() AS resumed;
SELECT paused FROM smpc.reports WHERE report_name = 'daily';
SELECT smpc.unschedule_report('broken');
SELECT smpc.unschedule_report('broken');
SELECT count(*) AS history_kept FROM smpc.report_runs WHERE report_name = 'broken';
RESET ROLE;

-- other roles: cannot manage it, see nothing of it; the reader reads the table
SET ROLE rep_stranger;
SELECT smpc.pause_report('sales');
SELECT smpc.run_report('sales');
SELECT smpc.unschedule_report('sales');
SELECT smpc.schedule_report('sales', '1 hour', 'SELECT 1 AS a', 'rep_strange.x', replace => true);
SELECT count(*) FROM smpc.reports;
SELECT count(*) FROM smpc.report_runs;
SELECT count(*) FROM smpc.report;
RESET ROLE;
SET ROLE rep_analyst;
GRANT SELECT ON rep_out.sales_weekly TO rep_reader;
RESET ROLE;
SET ROLE rep_reader;
SELECT region, total, n FROM rep_out.sales_weekly WHERE run_id = :run2 ORDER BY region;
SELECT count(*) FROM smpc.report_runs;
RESET ROLE;

-- a role that cannot log in cannot own reports
SET ROLE rep_group;
SELECT smpc.schedule_report('nologin', '1 hour', 'SELECT 1 AS a', 'public.x');
RESET ROLE;

-- joint queries need USAGE on the federation, checked at schedule time too
SELECT public_key AS node_key FROM smpc.init_node('regress_node', force => true) \gset
CREATE SERVER rep_m1 FOREIGN DATA WRAPPER smpc OPTIONS (host 'm1.invalid', node_key :'node_key');
CREATE SERVER rep_m2 FOREIGN DATA WRAPPER smpc OPTIONS (host 'm2.invalid', node_key :'node_key');
CREATE SERVER rep_fed FOREIGN DATA WRAPPER smpc OPTIONS (members 'rep_m1, rep_m2');
CREATE FOREIGN TABLE rep_joint (region text, amount int) SERVER rep_fed OPTIONS (dataset 'sales');
GRANT SELECT ON rep_joint TO rep_analyst;
SET ROLE rep_analyst;
SELECT smpc.schedule_report('joint', '1 hour',
  'SELECT region, sum(amount) AS total FROM public.rep_joint GROUP BY region', 'rep_out.joint');
EXPLAIN (COSTS OFF) SELECT count(*) FROM rep_joint;
RESET ROLE;
GRANT USAGE ON FOREIGN SERVER rep_fed TO rep_analyst;
SET ROLE rep_analyst;
SET client_min_messages = error;
SELECT smpc.schedule_report('joint', '1 hour',
  'SELECT region, sum(amount) AS total FROM public.rep_joint GROUP BY region', 'rep_out.joint')
  IS NOT NULL AS scheduled;
RESET client_min_messages;
EXPLAIN (COSTS OFF) SELECT count(*) FROM rep_joint;
RESET ROLE;

-- clean up
DROP FOREIGN TABLE rep_joint;
DROP SERVER rep_fed, rep_m1, rep_m2;
SELECT smpc.unschedule_report(report_name) FROM smpc.reports ORDER BY report_name;
DROP SCHEMA rep_out, rep_strange CASCADE;
DROP TABLE rep_sales;
REVOKE ALL ON FUNCTION
  smpc.schedule_report(text, text, text, text, integer, interval, boolean),
  smpc.unschedule_report(text), smpc.pause_report(text),
  smpc.resume_report(text), smpc.run_report(text, boolean)
  FROM rep_analyst, rep_stranger, rep_group;
DROP ROLE rep_analyst, rep_reader, rep_stranger, rep_group;
DROP EXTENSION smpc;
