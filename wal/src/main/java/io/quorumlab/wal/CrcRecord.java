package io.quorumlab.wal;

/**
 * First record of every segment: the running CRC at the end of the previous segment, so the
 * checksum chain continues across files and a missing or swapped segment is detected.
 */
public record CrcRecord(int previousCrc) implements WalRecord {
}
