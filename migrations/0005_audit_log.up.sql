-- 0005 audit_log: who did what to which object, and when.
--
-- actor is text ('user:<uuid>', 'system', the tool that acted) so the
-- entry outlives the account; action is dotted lower case
-- ('user.create', 'server.deactivate'); details a JSON object.

CREATE TABLE audit_log (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    actor text NOT NULL,
    action text NOT NULL
        CONSTRAINT audit_log_action_format CHECK (action ~ '^[a-z][a-z_]*(\.[a-z][a-z_]*)+$'),
    object text,
    details jsonb NOT NULL DEFAULT '{}'
        CONSTRAINT audit_log_details_object CHECK (jsonb_typeof(details) = 'object')
);

CREATE INDEX audit_log_at_idx ON audit_log (at);
-- An object's history.
CREATE INDEX audit_log_object_at_idx ON audit_log (object, at) WHERE object IS NOT NULL;
