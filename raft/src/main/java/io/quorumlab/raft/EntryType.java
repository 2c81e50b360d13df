package io.quorumlab.raft;

/** What an entry carries: application data, or a membership change Raft itself interprets. */
public enum EntryType {
    NORMAL,
    CONF_CHANGE
}
