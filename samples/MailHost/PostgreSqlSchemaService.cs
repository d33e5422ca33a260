using Mail.Protocols.PostgreSql.Schema;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace MailHostSample;

/// <summary>Brings the PostgreSQL schema up to date when the host starts, before the servers and the agent use it.</summary>
internal sealed class PostgreSqlSchemaService(NpgsqlDataSource dataSource) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => PostgreSqlSchema.ApplyAsync(dataSource, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
