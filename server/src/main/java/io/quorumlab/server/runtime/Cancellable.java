package io.quorumlab.server.runtime;

@FunctionalInterface
public interface Cancellable {
    void cancel();
}
