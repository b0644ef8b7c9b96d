// Package redisstore is an execution log store on Redis Streams.
package redisstore
