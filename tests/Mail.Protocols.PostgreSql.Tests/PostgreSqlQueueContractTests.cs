using Mail.Protocols.PostgreSql.Queue;
using Mail.Protocols.PostgreSql.Schema;
using Mail.Protocols.Queue;
using Mail.Protocols.Testing.Contracts;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Tests;

/// <summary>
/// The PostgreSQL queue against the durable queue contract, each test on a database of its own in the class's cluster;
/// a restart is a new queue on a new data source over the same database.
/// </summary>
public sealed class PostgreSqlQueueContractTests(PostgresServer server) : DurableMessageQueueContractTests, IClassFixture<PostgresServer>, IDisposable
{
    private readonly List<NpgsqlDataSource> _sources = [];
    private readonly Dictionary<IMessageQueue, string> _databases = [];

    protected override IMessageQueue CreateQueue(TimeProvider time)
    {
        var connectionString = server.CreateDatabaseAsync().GetAwaiter().GetResult();
        var source = Source(connectionString);
        PostgreSqlSchema.ApplyAsync(source).GetAwaiter().GetResult();
        var queue = new PostgreSqlMessageQueue(source, time);
        _databases[queue] = connectionString;
        return queue;
    }

    protected override IMessageQueue Reopen(IMessageQueue queue, TimeProvider time)
    {
        var reopened = new PostgreSqlMessageQueue(Source(_databases[queue]), time);
        _databases[reopened] = _databases[queue];
        return reopened;
    }

    private NpgsqlDataSource Source(string connectionString)
    {
        var source = NpgsqlDataSource.Create(connectionString);
        _sources.Add(source);
        return source;
    }

    public void Dispose()
    {
        foreach (var source in _sources)
        {
            source.Dispose();
        }
    }
}
