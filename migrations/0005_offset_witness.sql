-- Which topic incarnation a stored offset belongs to.
--
-- An offset is only a number: after a topic is deleted and created again, the
-- pipeline moves to another cluster (MirrorMaker does not keep offsets) or a
-- database backup is restored next to another topic, the same number names
-- other records, and seeking there would skip records silently. So each row
-- keeps the Kafka topic ID (KIP-516) the offset was stored for, and a
-- witness of the last record the group applied (both committed in the same
-- transaction as next_offset): its offset, key, sequence number and a digest
-- of the whole record (key, value, headers, timestamp). On every
-- assignment the consumer compares the topic ID and reads the record at
-- witness_offset back from the topic (and before each batch it checks the
-- topic ID again); if either differs, the partition stays paused and
-- blocked_reason says why until an operator moves the offsets on purpose
-- (`cli offsets reset`) or rebuilds from the journal.
--
-- A topic ID that changed is accepted only when the witnessed record is still
-- at its offset (a copy that keeps offsets). A row without a witness (a reset
-- to the log start, a rebuild that read from the journal) or without a topic
-- ID (a cluster that gives none) is checked with what it has.
alter table consumer_offsets
  add column topic_id            text,
  add column witness_offset      bigint,
  add column witness_key         text,
  add column witness_sequence_nr bigint,
  add column witness_digest      text,
  -- Set by the consumer that found the partition inconsistent; cleared when
  -- the check passes again or an operator resets the offsets.
  add column blocked_reason      text,
  add column blocked_at          timestamptz;
