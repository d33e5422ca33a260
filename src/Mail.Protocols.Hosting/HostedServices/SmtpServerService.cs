using Mail.Protocols.Addressing;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Policy;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// The SMTP server as a hosted service (<see cref="MailServiceCollectionExtensions.AddSmtpServer"/>): it delivers into
/// the container's <see cref="IMailboxStore"/> and <see cref="IMessageQueue"/>, authenticates against its
/// <see cref="IUserDirectory"/> and routes with its <see cref="IRecipientPolicy"/> (and <see cref="SenderRewriter"/>, when one is registered).
/// </summary>
public sealed class SmtpServerService(IOptions<SmtpServerOptions> options, IOptions<SmtpListenersOptions> listeners, IServiceProvider services)
    : ProtocolServerService<SmtpServer>(services)
{
    /// <inheritdoc />
    protected override (SmtpServer Server, IReadOnlyList<string> EndpointNames)? CreateServer()
    {
        var (endpoints, names) = EndpointsOf(listeners.Value.Listeners, (listener, endPoint) => new SmtpEndpoint(endPoint, listener.Role, listener.ImplicitTls),
            listener => listener.ImplicitTls ? "smtps" : listener.Role == SmtpRole.Submission ? "submission" : "smtp");
        if (endpoints.Count == 0)
        {
            return null;
        }
        var backends = new SmtpServices(Store, Services.GetRequiredService<IMessageQueue>(), Users, Services.GetRequiredService<IRecipientPolicy>(),
            Services.GetService<SenderRewriter>());
        return (new SmtpServer(options.Value, backends, endpoints, TimeProvider, LoggerFactory, MeterFactory), names);
    }
}
