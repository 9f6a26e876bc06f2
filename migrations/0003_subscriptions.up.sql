-- 0003 subscriptions: what each user pays for, period by period.
--
-- plan and status are text with a CHECK rather than enum types: a value
-- added to an enum cannot be removed again, so its down migration could
-- not exist; a CHECK is replaced in one statement.

CREATE TABLE subscriptions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    plan text NOT NULL
        CONSTRAINT subscriptions_plan_known CHECK (plan IN ('free', 'monthly', 'yearly')),
    status text NOT NULL
        CONSTRAINT subscriptions_status_known CHECK (status IN ('trialing', 'active', 'past_due', 'canceled', 'expired')),
    current_period_start timestamptz NOT NULL,
    current_period_end timestamptz NOT NULL,
    canceled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT subscriptions_period_order CHECK (current_period_end > current_period_start),
    CONSTRAINT subscriptions_canceled_at_set CHECK ((status = 'canceled') = (canceled_at IS NOT NULL))
);

-- The foreign key's index (ON DELETE CASCADE from users looks rows up by user_id).
CREATE INDEX subscriptions_user_id_idx ON subscriptions (user_id);
-- At most one live subscription per user.
CREATE UNIQUE INDEX subscriptions_one_live_per_user_key ON subscriptions (user_id)
    WHERE status IN ('trialing', 'active', 'past_due');
-- The renewal job: live subscriptions by the end of their period.
CREATE INDEX subscriptions_live_period_end_idx ON subscriptions (current_period_end)
    WHERE status IN ('trialing', 'active', 'past_due');

CREATE TRIGGER subscriptions_set_updated_at BEFORE UPDATE ON subscriptions
    FOR EACH ROW EXECUTE FUNCTION set_updated_at();
