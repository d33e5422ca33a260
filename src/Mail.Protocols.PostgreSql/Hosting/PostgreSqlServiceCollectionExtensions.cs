using Mail.Protocols.PostgreSql.Mailboxes;
using Mail.Protocols.PostgreSql.Queue;
using Mail.Protocols.PostgreSql.Schema;
using Mail.Protocols.PostgreSql.Users;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Mail.Protocols.PostgreSql.Hosting;

/// <summary>Which of the PostgreSQL backends <see cref="PostgreSqlServiceCollectionExtensions.AddPostgreSqlMailBackends"/> registers.</summary>
[Flags]
public enum PostgreSqlMailBackends
{
    /// <summary>None: only the data source and the schema.</summary>
    None = 0,

    /// <summary><see cref="PostgreSqlMailboxStore"/> as the <see cref="IMailboxStore"/>.</summary>
    MailboxStore = 1,

    /// <summary><see cref="PostgreSqlMessageQueue"/> as the <see cref="IMessageQueue"/>.</summary>
    MessageQueue = 2,

    /// <summary><see cref="PostgreSqlUserDirectory"/> as the <see cref="IUserDirectory"/>.</summary>
    Users = 4,
}

/// <summary>Registers the PostgreSQL backends in a Generic Host application.</summary>
public static class PostgreSqlServiceCollectionExtensions
{
    /// <summary>The key the backends' <see cref="NpgsqlDataSource"/> is registered under (an application's own data source stays its own).</summary>
    public const string DataSourceKey = "Mail.Protocols.PostgreSql";

    /// <summary>
    /// Registers the chosen backends on one database, in place of any registered before (the in-memory ones), each also under
    /// its own type; their data source (under <see cref="DataSourceKey"/>); and, unless <paramref name="applySchema"/> is false,
    /// a hosted service that brings the schema up to date when the host starts (<see cref="PostgreSqlSchema.ApplyAsync"/>).
    /// Call it before adding the servers: hosted services start in the order they were added, so the schema is in place first.
    /// </summary>
    /// <param name="services">The container.</param>
    /// <param name="connectionString">The database (pooling, TLS, credentials: see docs/postgresql.md).</param>
    /// <param name="backends">Which backends live in it.</param>
    /// <param name="applySchema">False for a database whose schema an operator applies with <see cref="PostgreSqlSchema.Script"/>.</param>
    public static IServiceCollection AddPostgreSqlMailBackends(this IServiceCollection services, string connectionString,
        PostgreSqlMailBackends backends = PostgreSqlMailBackends.MailboxStore | PostgreSqlMailBackends.MessageQueue, bool applySchema = true)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        // A mistake in the string fails here, where it was given, not at the first message.
        _ = new NpgsqlConnectionStringBuilder(connectionString);
        services.TryAddKeyedSingleton(DataSourceKey, (_, _) => NpgsqlDataSource.Create(connectionString));
        if (applySchema)
        {
            services.AddHostedService(provider => new SchemaAtStart(DataSource(provider)));
        }
        if (backends.HasFlag(PostgreSqlMailBackends.MailboxStore))
        {
            services.Replace(ServiceDescriptor.Singleton(provider => new PostgreSqlMailboxStore(DataSource(provider), provider.GetService<TimeProvider>())));
            services.Replace(ServiceDescriptor.Singleton<IMailboxStore>(provider => provider.GetRequiredService<PostgreSqlMailboxStore>()));
        }
        if (backends.HasFlag(PostgreSqlMailBackends.MessageQueue))
        {
            services.Replace(ServiceDescriptor.Singleton(provider => new PostgreSqlMessageQueue(DataSource(provider), provider.GetService<TimeProvider>())));
            services.Replace(ServiceDescriptor.Singleton<IMessageQueue>(provider => provider.GetRequiredService<PostgreSqlMessageQueue>()));
        }
        if (backends.HasFlag(PostgreSqlMailBackends.Users))
        {
            services.Replace(ServiceDescriptor.Singleton(provider => new PostgreSqlUserDirectory(DataSource(provider))));
            services.Replace(ServiceDescriptor.Singleton<IUserDirectory>(provider => provider.GetRequiredService<PostgreSqlUserDirectory>()));
        }
        return services;
    }

    private static NpgsqlDataSource DataSource(IServiceProvider provider) => provider.GetRequiredKeyedService<NpgsqlDataSource>(DataSourceKey);

    // Brings the schema up to date before the servers start taking mail.
    private sealed class SchemaAtStart(NpgsqlDataSource dataSource) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => PostgreSqlSchema.ApplyAsync(dataSource, cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
