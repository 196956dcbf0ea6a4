-- Creates Parapet's roles and database in a PostgreSQL cluster; safe to run again.
-- psql variables: owner_pw, app_pw (passwords), dbname.
--   parapet_owner  owns the schema; migrations run as it (DATABASE_OWNER_URL)
--   parapet_app    a group holding only the privileges the migrations grant; owns nothing
--   parapet        the server's login role (DATABASE_URL), a member of parapet_app
\set ON_ERROR_STOP on
SELECT format('CREATE ROLE parapet_owner LOGIN PASSWORD %L', :'owner_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parapet_owner') \gexec
SELECT 'CREATE ROLE parapet_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parapet_app') \gexec
SELECT format('CREATE ROLE parapet LOGIN NOSUPERUSER NOBYPASSRLS PASSWORD %L IN ROLE parapet_app',
              :'app_pw')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'parapet') \gexec
SELECT format('CREATE DATABASE %I OWNER parapet_owner', :'dbname')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \gexec
