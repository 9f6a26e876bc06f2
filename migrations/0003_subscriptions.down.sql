-- Reverts 0003 subscriptions.
DROP TABLE subscriptions;
