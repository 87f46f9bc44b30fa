// Package lincheck checks that mapkv's operations are linearizable across
// real processes. Writer and reader processes (the test binary re-executed
// through internal/testproc) work on a few hot keys of one store file, each
// records when every operation was invoked and when it returned on
// CLOCK_MONOTONIC (one clock for every process of the host), writers are
// killed with SIGKILL at random moments, and the merged history is checked
// with porcupine against a sequential model of a small key-value map.
//
// It is a module of its own so that porcupine, a test tool, stays out of the
// main module's dependencies. docs/testing.md ("Linearizability") says how to
// run it longer and how to read a failure.
package lincheck
