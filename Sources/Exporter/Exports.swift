// The types a caller of the engine needs alongside it.
@_exported import struct PostgresClient.ConnectionString
@_exported import struct PostgresClient.ServerInfo
