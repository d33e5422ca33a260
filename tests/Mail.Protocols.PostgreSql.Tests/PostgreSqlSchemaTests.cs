using Mail.Protocols.PostgreSql.Schema;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Tests;

/// <summary>The migrations: applied once however many hosts start together, and the same as the script an operator runs.</summary>
public sealed class PostgreSqlSchemaTests(PostgresServer server) : IClassFixture<PostgresServer>
{
    [Fact]
    public async Task Hosts_starting_together_migrate_once_and_find_the_latest_version()
    {
        await using var source = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());

        var before = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgreSqlSchema.ApplyAsync(source)));

        Assert.Equal(1, before.Count(version => version == 0)); // one of them did the work, under the advisory lock
        Assert.All(before, version => Assert.True(version is 0 || version == PostgreSqlSchema.LatestVersion));
        Assert.Equal(PostgreSqlSchema.LatestVersion, await PostgreSqlSchema.ApplyAsync(source));
        await using var count = source.CreateCommand("SELECT count(*) FROM mail_schema_version");
        Assert.Equal((long)PostgreSqlSchema.LatestVersion, await count.ExecuteScalarAsync());
    }

    [Fact]
    public async Task The_script_builds_the_same_schema_and_a_later_apply_finds_nothing_to_do()
    {
        await using var scripted = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await using var applied = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());

        await using (var run = scripted.CreateCommand(PostgreSqlSchema.Script()))
        {
            await run.ExecuteNonQueryAsync();
        }
        await PostgreSqlSchema.ApplyAsync(applied);

        Assert.Equal(PostgreSqlSchema.LatestVersion, await PostgreSqlSchema.ApplyAsync(scripted));
        Assert.Equal(await ColumnsAsync(applied), await ColumnsAsync(scripted));
    }

    [Fact]
    public async Task A_database_migrated_by_a_newer_host_is_refused_not_downgraded()
    {
        await using var source = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());
        await PostgreSqlSchema.ApplyAsync(source);
        await using (var newer = source.CreateCommand($"INSERT INTO mail_schema_version (version, description) VALUES ({PostgreSqlSchema.LatestVersion + 1}, 'from the future')"))
        {
            await newer.ExecuteNonQueryAsync();
        }

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgreSqlSchema.ApplyAsync(source));
        Assert.Contains("newer than this package", refused.Message);
    }

    [Fact]
    public async Task A_database_that_is_not_UTF8_is_refused()
    {
        var name = "t_" + Guid.NewGuid().ToString("N");
        await using (var admin = NpgsqlDataSource.Create(server.ConnectionString("postgres")))
        await using (var create = admin.CreateCommand($"CREATE DATABASE {name} ENCODING 'SQL_ASCII' TEMPLATE template0"))
        {
            await create.ExecuteNonQueryAsync();
        }
        await using var source = NpgsqlDataSource.Create(server.ConnectionString(name));

        var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => PostgreSqlSchema.ApplyAsync(source));
        Assert.Contains("UTF8", refused.Message);
    }

    [Fact]
    public async Task A_script_run_on_a_database_at_another_version_changes_nothing()
    {
        await using var source = NpgsqlDataSource.Create(await server.CreateDatabaseAsync());

        await using (var run = source.CreateCommand(PostgreSqlSchema.Script(fromVersion: 1))) // the database is at 0
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => run.ExecuteNonQueryAsync());
            Assert.Contains("not at version 1", refused.MessageText);
        }

        Assert.Equal(0, await PostgreSqlSchema.ApplyAsync(source)); // still empty: the whole script was rolled back
    }

    private static async Task<List<string>> ColumnsAsync(NpgsqlDataSource source)
    {
        await using var columns = source.CreateCommand("""
            SELECT table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable FROM information_schema.columns
            WHERE table_schema = 'public' ORDER BY table_name, ordinal_position
            """);
        await using var reader = await columns.ExecuteReaderAsync();
        var found = new List<string>();
        while (await reader.ReadAsync())
        {
            found.Add(reader.GetString(0));
        }
        return found;
    }
}
