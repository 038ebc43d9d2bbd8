-- Inline projections (src/eventstore/postgres/inline.ts): an append transaction that also applies
-- the read-model statements of its events moves those projections' checkpoints with this
-- function, in the same transaction. It is a compare-and-set: every named checkpoint must stand
-- at the log's head before the append (head − appended), else nothing of the transaction
-- commits (SQLSTATE WR001) and the append is retried without the inline work, which the
-- projection runners then do. Projections whose events are in the batch are notified, as a
-- runner's checkpoint move is.
CREATE FUNCTION warrant_advance_checkpoints(names text[], appended bigint, touched text[], channel text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  head bigint;
  moved integer;
BEGIN
  SELECT max(position) INTO head FROM es_events;
  UPDATE projection_checkpoints SET position = head, updated_at = now(), last_error = NULL
   WHERE name = ANY(names) AND position = head - appended;
  GET DIAGNOSTICS moved = ROW_COUNT;
  IF moved <> cardinality(names) THEN
    RAISE EXCEPTION 'inline projections are not at the head of the log' USING ERRCODE = 'WR001';
  END IF;
  PERFORM pg_notify(channel, t || ':' || head) FROM unnest(touched) AS t;
  RETURN head;
END
$$;
