using Mail.Protocols.Dns;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// The delivery agent as a background service (<see cref="MailServiceCollectionExtensions.AddMailDelivery"/>): it
/// delivers what waits in the container's <see cref="IMessageQueue"/> by MX lookup through its <see cref="IDnsResolver"/>
/// (or through the smart host), and stores or queues the delivery status notifications it writes.
/// </summary>
public sealed class MailDeliveryService(IOptions<DeliveryAgentOptions> options, IOptions<DeliverySettings> settings, IServiceProvider services)
    : BackgroundService
{
    /// <inheritdoc />
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var store = services.GetRequiredService<IMailboxStore>().WithMetrics(services.GetService<System.Diagnostics.Metrics.IMeterFactory>());
        var queue = services.GetRequiredService<IMessageQueue>();
        var loggers = services.GetService<ILoggerFactory>();
        var submitter = new MailSubmitter(store, queue, services.GetRequiredService<IRecipientPolicy>(), loggers?.CreateLogger("Mail.Protocols.Delivery"));
        var agent = new DeliveryAgent(queue, services.GetRequiredService<IDnsResolver>(), submitter.SubmitAsync, options.Value,
            services.GetService<TimeProvider>(), loggers?.CreateLogger("Mail.Protocols.Delivery"), services.GetService<System.Diagnostics.Metrics.IMeterFactory>());
        return agent.RunAsync(settings.Value.PollInterval, stoppingToken);
    }
}
