package io.quorumlab.raft;

import java.util.Collections;
import java.util.Set;
import java.util.TreeSet;

/** The membership: voters and learners (disjoint sets of node ids). */
public record ConfState(Set<Long> voters, Set<Long> learners) {
    public static final ConfState EMPTY = new ConfState(Set.of(), Set.of());

    public ConfState {
        voters = Collections.unmodifiableSet(new TreeSet<>(voters));
        learners = Collections.unmodifiableSet(new TreeSet<>(learners));
        for (Long l : learners) {
            if (voters.contains(l)) throw new IllegalArgumentException("node " + l + " is both voter and learner");
        }
    }

    public static ConfState ofVoters(long... ids) {
        Set<Long> v = new TreeSet<>();
        for (long id : ids) v.add(id);
        return new ConfState(v, Set.of());
    }

    public boolean contains(long id) {
        return voters.contains(id) || learners.contains(id);
    }

    @Override
    public String toString() {
        return "voters=" + voters + (learners.isEmpty() ? "" : " learners=" + learners);
    }
}
