using Npgsql;
using ObservaCost.Testing;

namespace ObservaCost.Storage.Tests.Fixtures;

/// <summary>The PostgreSQL fixture the analytics clustering tests stand on: a real server, a database, a query.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task Start_CreateDatabase_Query_Stop()
    {
        await using PostgresServer server = await PostgresServer.StartAsync();
        string connectionString = await server.CreateDatabaseAsync("quartz_test");
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using NpgsqlCommand command = connection.CreateCommand();
        command.CommandText = "SELECT current_database() || ' ' || split_part(version(), ' ', 2)";
        string? answer = (string?)await command.ExecuteScalarAsync();
        Assert.StartsWith("quartz_test 15.", answer, StringComparison.Ordinal);
    }
}
