// Package redisstore is an octavus.ExecutionStore on Redis Streams: the
// execution logs of octavus.Executions shared by every replica of an app
// server on one Redis, so that any replica can answer a poll, an SSE
// resume or a stop for an execution another replica runs, and a replica's
// restart loses nothing the log held.
//
//	rdb := redis.NewClient(&redis.Options{Addr: "localhost:6379"})
//	defer rdb.Close()
//	store := redisstore.New(rdb, redisstore.Options{Prefix: "myapp:"})
//	defer store.Close()
//	execs := octavus.NewExecutions(client, octavus.ExecutionsOptions{
//		Store: store,
//		Tools: tools,
//	})
//
// Per session the store keeps two keys with the session id as hash tag
// (one Redis Cluster slot): a hash with the execution's state (its id,
// owner, status, lease and stop request) and a stream with its events,
// event i at the stream id "i-0", so a browser's cursor (a count of
// events) maps to a stream id with no lookup. Every write is a Lua script
// that checks the caller still owns the running execution, so two
// replicas never run or write one execution. Each change of a log is
// PUBLISHed, so waiting readers (long polls, SSE tails) share one Pub/Sub
// connection per Store instead of holding pooled ones. Retention: Options.MaxLen
// events per log (XADD MAXLEN), Options.MaxAge after the end (PEXPIRE).
package redisstore
