using System.Diagnostics.Metrics;
using Mail.Protocols.Addressing;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// The SMTP server as a hosted service (<see cref="MailServiceCollectionExtensions.AddSmtpServer"/>): it delivers into
/// the container's <see cref="IMailboxStore"/> and <see cref="IMessageQueue"/>, authenticates against its
/// <see cref="IUserDirectory"/> and routes with its <see cref="IRecipientPolicy"/> (and <see cref="SenderRewriter"/>, when one is registered).
/// </summary>
public sealed class SmtpServerService(IOptions<SmtpServerOptions> options, IOptions<SmtpListenersOptions> listeners, IServiceProvider services)
    : ProtocolServerService<SmtpServer>
{
    /// <inheritdoc />
    protected override (SmtpServer Server, IReadOnlyList<string> EndpointNames) CreateServer()
    {
        var settings = listeners.Value.Listeners;
        var endpoints = settings.Select(l => new SmtpEndpoint(l.ToEndPoint(), l.Role, l.ImplicitTls)).ToList();
        var names = NamesOf(settings.Select(l => (l.Name, l.ImplicitTls ? "smtps" : l.Role == SmtpRole.Submission ? "submission" : "smtp")));
        var backends = new SmtpServices(services.GetRequiredService<IMailboxStore>(), services.GetRequiredService<IMessageQueue>(),
            services.GetRequiredService<IUserDirectory>(), services.GetRequiredService<IRecipientPolicy>(), services.GetService<SenderRewriter>());
        var server = new SmtpServer(options.Value, backends, endpoints, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>(),
            services.GetService<IMeterFactory>());
        return (server, names);
    }
}
