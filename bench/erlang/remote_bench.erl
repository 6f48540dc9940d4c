%% SPDX-License-Identifier: MIT
%% remote_bench.erl: the remote workloads of issue 12 on Erlang distribution, for comparison with
%% axon-remote-bench: two nodes on loopback; remote_pingpong (round trips between a process on
%% each node) and remote_counting (one process sends integers to a counter on the other node,
%% done when the counter has them all). Prints WORKLOADS.md lines. Run by bench/remote.sh.
-module(remote_bench).
-export([serve/0, main/1]).

%% The serving node: pong and counter, registered; stops when pong gets stop.
serve() ->
    register(counter, spawn(fun counter/0)),
    register(pong, self()),
    pong().

pong() ->
    receive
        {ping, From, N} -> From ! {pong, N}, pong();
        stop -> erlang:halt(0)
    end.

counter() ->
    receive {start, Expect, To} -> count(Expect, 0, 0, To) end.

count(Expect, Expect, Sum, To) -> To ! {done, Sum}, counter();
count(Expect, Got, Sum, To) -> receive {num, X} -> count(Expect, Got + 1, Sum + X, To) end.

%% The driving node: main([Scale, ServerNode]).
main([ScaleArg, NodeArg]) ->
    Scale = case string:to_float(ScaleArg) of
                {F, []} -> F;
                _ -> float(list_to_integer(ScaleArg))
            end,
    Node = list_to_atom(NodeArg),
    Pong = wait_for(Node, pong, 500),
    Counter = rpc:call(Node, erlang, whereis, [counter]),
    Trips = max(1, round(100000 * Scale)),
    Msgs = max(1, round(2000000 * Scale)),
    ping(Pong, 1000),
    T0 = erlang:monotonic_time(nanosecond),
    ping(Pong, Trips),
    report("remote_pingpong", Trips, erlang:monotonic_time(nanosecond) - T0),
    counting(Counter, 10000),
    T1 = erlang:monotonic_time(nanosecond),
    counting(Counter, Msgs),
    report("remote_counting", Msgs, erlang:monotonic_time(nanosecond) - T1),
    Pong ! stop,
    erlang:halt(0).

wait_for(_Node, _Name, 0) -> io:format(standard_error, "no ~p~n", [_Name]), erlang:halt(1);
wait_for(Node, Name, Tries) ->
    case rpc:call(Node, erlang, whereis, [Name]) of
        Pid when is_pid(Pid) -> Pid;
        _ -> timer:sleep(20), wait_for(Node, Name, Tries - 1)
    end.

ping(_Pong, 0) -> ok;
ping(Pong, N) ->
    Pong ! {ping, self(), N},
    receive {pong, N} -> ping(Pong, N - 1) end.

counting(Counter, N) ->
    Counter ! {start, N, self()},
    spawn_link(fun() -> produce(Counter, 1, N) end),
    Want = N * (N + 1) div 2,
    receive
        {done, Want} -> ok;
        {done, Other} -> io:format(standard_error, "sum ~p, want ~p~n", [Other, Want]), erlang:halt(1)
    end.

produce(_Counter, I, N) when I > N -> ok;
produce(Counter, I, N) -> Counter ! {num, I}, produce(Counter, I + 1, N).

report(Bench, N, Ns) ->
    Sec = Ns / 1.0e9,
    io:format("{\"system\":\"erlang\",\"bench\":\"~s\",\"workers\":~p,\"n\":~p,\"seconds\":~.6f,"
              "\"ns_per_op\":~.1f,\"ops_per_s\":~.1f}~n",
              [Bench, erlang:system_info(schedulers_online), N, Sec, Ns / N, N / Sec]).
