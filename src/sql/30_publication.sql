/* --- publication catalog (src/catalog.c) --- */

-- Every role may look up smpc's objects; what each may do is granted per
-- object below.

CREATE TABLE dataset (
    dataset_name text PRIMARY KEY
        CHECK (dataset_name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$'),
    relation     regclass NOT NULL,
    publisher    regrole NOT NULL,
    federations  text[]
        CHECK (cardinality(federations) > 0
               AND array_position(federations, NULL) IS NULL),
    published_at timestamptz NOT NULL DEFAULT now(),
    min_set_size int NOT NULL DEFAULT 100 CHECK (min_set_size >= 0)
);

COMMENT ON TABLE dataset IS
  'datasets this node publishes (write with smpc.publish and smpc.withdraw)';
COMMENT ON COLUMN dataset.publisher IS
  'the role that published the dataset; member-side queries run as this role';
COMMENT ON COLUMN dataset.federations IS
  'federations the dataset is published to; NULL means every federation of this node';
COMMENT ON COLUMN dataset.min_set_size IS
  'a private set intersection is refused when this node''s set, or another party''s set it processes, has fewer keys';

CREATE TABLE dataset_column (
    dataset_name text NOT NULL REFERENCES dataset ON DELETE CASCADE,
    column_name  name NOT NULL,
    position     int NOT NULL CHECK (position > 0),
    group_policy text NOT NULL DEFAULT 'none'
        CHECK (group_policy IN ('none', 'public', 'reveal')),
    group_domain text[]
        CHECK (group_domain IS NULL
               OR (group_policy = 'public'
                   AND cardinality(group_domain) > 0
                   AND array_position(group_domain, NULL) IS NULL)),
    intersect_key boolean NOT NULL DEFAULT false,
    PRIMARY KEY (dataset_name, column_name),
    UNIQUE (dataset_name, position)
);

COMMENT ON TABLE dataset_column IS
  'published columns of each dataset, in published order';
COMMENT ON COLUMN dataset_column.group_policy IS
  'none: not a group key; public: group keys from a public domain (never exchanged); reveal: the group keys present may be revealed';
COMMENT ON COLUMN dataset_column.group_domain IS
  'declared values of a public group key; NULL for boolean and enum columns, whose type is the domain';
COMMENT ON COLUMN dataset_column.intersect_key IS
  'the column may be the key of smpc_intersect_count (private set intersection)';

-- pg_dump dumps the rows; the tables themselves come with the extension.
SELECT pg_catalog.pg_extension_config_dump('dataset', '');
SELECT pg_catalog.pg_extension_config_dump('dataset_column', '');

-- What a node publishes is not secret locally; writes go through publish().
REVOKE ALL ON dataset, dataset_column FROM PUBLIC;
GRANT SELECT ON dataset, dataset_column TO PUBLIC;

CREATE VIEW datasets AS
SELECT d.dataset_name, d.relation, d.publisher, d.federations,
       c.column_name, format_type(a.atttypid, a.atttypmod) AS column_type,
       c.group_policy, c.group_domain, c.intersect_key, d.min_set_size
  FROM dataset d
  JOIN dataset_column c ON c.dataset_name = d.dataset_name
  LEFT JOIN pg_attribute a
         ON a.attrelid = d.relation AND a.attname = c.column_name
        AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY d.dataset_name COLLATE "C", c.position;

COMMENT ON VIEW datasets IS
  'published datasets, one row per column; column_type is NULL if the column no longer exists';

REVOKE ALL ON datasets FROM PUBLIC;
GRANT SELECT ON datasets TO PUBLIC;

CREATE FUNCTION publish(dataset_name text, relation regclass, columns text[],
                        group_keys jsonb DEFAULT NULL,
                        federations text[] DEFAULT NULL,
                        replace boolean DEFAULT false,
                        intersect_keys text[] DEFAULT NULL,
                        min_set_size integer DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'smpc_publish'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION publish(text, regclass, text[], jsonb, text[], boolean, text[], integer) IS
  'publish columns of a local relation as a dataset; the caller must be able to read them and becomes the publisher';

CREATE FUNCTION withdraw(dataset_name text)
RETURNS void
AS 'MODULE_PATHNAME', 'smpc_withdraw'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION withdraw(text) IS
  'stop publishing a dataset; only its publisher or a superuser';

-- A DBA grants these to data stewards.
REVOKE ALL ON FUNCTION publish(text, regclass, text[], jsonb, text[], boolean, text[], integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION withdraw(text) FROM PUBLIC;
