using System.Globalization;
using Mail.Protocols.Hosting.HostedServices;
using Mail.Protocols.Queue;
using Mail.Protocols.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Mail.Protocols.Hosting.Health;

/// <summary>The health checks of the mail servers (<see cref="MailHealthCheckExtensions.AddMailChecks"/>).</summary>
public static class MailHealthCheckExtensions
{
    /// <summary>
    /// Adds three checks, tagged "mail": <c>mail-listeners</c> (every registered server accepting connections on its
    /// endpoints), <c>mail-queue</c> (the queue answers; its depth is in the data) and, when
    /// <paramref name="storeProbeLogin"/> is given, <c>mail-store</c> (the store lists that user's folders).
    /// </summary>
    /// <param name="builder">The health checks builder (<c>services.AddHealthChecks()</c>).</param>
    /// <param name="storeProbeLogin">A login whose folders the store check lists; null: no store check.</param>
    public static IHealthChecksBuilder AddMailChecks(this IHealthChecksBuilder builder, string? storeProbeLogin = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        string[] tags = ["mail"];
        builder.Add(new HealthCheckRegistration("mail-listeners", provider => new ListenersHealthCheck(provider), HealthStatus.Unhealthy, tags));
        builder.Add(new HealthCheckRegistration("mail-queue", provider => new QueueHealthCheck(provider.GetRequiredService<IMessageQueue>()), HealthStatus.Unhealthy, tags));
        if (storeProbeLogin is not null)
        {
            builder.Add(new HealthCheckRegistration("mail-store",
                provider => new StoreHealthCheck(provider.GetRequiredService<IMailboxStore>(), storeProbeLogin), HealthStatus.Unhealthy, tags));
        }
        return builder;
    }

    /// <summary>Healthy when every server registered in the container is running; the data lists each endpoint.</summary>
    private sealed class ListenersHealthCheck(IServiceProvider provider) : IHealthCheck
    {
        public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            var data = new Dictionary<string, object>(StringComparer.Ordinal);
            var stopped = new List<string>();
            Look(provider.GetService<SmtpServerService>(), "smtp", data, stopped);
            Look(provider.GetService<Pop3ServerService>(), "pop3", data, stopped);
            Look(provider.GetService<ImapServerService>(), "imap", data, stopped);
            if (data.Count == 0 && stopped.Count == 0)
            {
                return Task.FromResult(HealthCheckResult.Unhealthy("No mail server is registered."));
            }
            return Task.FromResult(stopped.Count == 0
                ? HealthCheckResult.Healthy($"{data.Count} endpoint(s) accepting connections.", data)
                : HealthCheckResult.Unhealthy($"Not accepting connections: {string.Join(", ", stopped)}.", data: data));
        }

        private static void Look<TServer>(ProtocolServerService<TServer>? service, string protocol, Dictionary<string, object> data, List<string> stopped)
            where TServer : Connections.ProtocolServer
        {
            if (service is null || service.IsSwitchedOff)
            {
                return;
            }
            if (!service.IsRunning)
            {
                stopped.Add(protocol);
                return;
            }
            foreach (var (name, endPoint) in service.EndPoints)
            {
                data[name] = endPoint.ToString();
            }
        }
    }

    /// <summary>Healthy when the queue answers how many entries it holds (in the data as "entries").</summary>
    private sealed class QueueHealthCheck(IMessageQueue queue) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var count = await queue.CountAsync(cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"{count} entries."), new Dictionary<string, object> { ["entries"] = count });
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "The queue did not answer.", e);
            }
        }
    }

    /// <summary>Healthy when the store lists the probe login's folders.</summary>
    private sealed class StoreHealthCheck(IMailboxStore store, string login) : IHealthCheck
    {
        public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
        {
            try
            {
                var folders = await store.ListFoldersAsync(login, cancellationToken).ConfigureAwait(false);
                return HealthCheckResult.Healthy(string.Create(CultureInfo.InvariantCulture, $"{folders.Count} folder(s) listed."));
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                return new HealthCheckResult(context.Registration.FailureStatus, "The store did not list the probe login's folders.", e);
            }
        }
    }
}
