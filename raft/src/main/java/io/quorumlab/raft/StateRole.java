package io.quorumlab.raft;

public enum StateRole {
    FOLLOWER,
    PRE_CANDIDATE,
    CANDIDATE,
    LEADER
}
