package io.quorumlab.raft;

import java.util.Map;

/** A point-in-time view of a node; {@code progress} is empty unless it is the leader. */
public record Status(
        long id,
        HardState hardState,
        SoftState softState,
        long applied,
        long lastIndex,
        ConfState confState,
        long leadTransferee,
        Map<Long, ProgressView> progress) {}
