using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Imap;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// The IMAP server as a hosted service (<see cref="MailServiceCollectionExtensions.AddImapServer"/>): it serves every
/// folder of the container's <see cref="IMailboxStore"/> to the users of its <see cref="IUserDirectory"/>.
/// </summary>
public sealed class ImapServerService(IOptions<ImapServerOptions> options, IOptions<ImapListenersOptions> listeners, IServiceProvider services)
    : ProtocolServerService<ImapServer>(services)
{
    /// <inheritdoc />
    protected override (ImapServer Server, IReadOnlyList<string> EndpointNames)? CreateServer()
    {
        var (endpoints, names) = EndpointsOf(listeners.Value.Listeners, (listener, endPoint) => new ImapEndpoint(endPoint, listener.ImplicitTls),
            listener => listener.ImplicitTls ? "imaps" : "imap");
        if (endpoints.Count == 0)
        {
            return null;
        }
        return (new ImapServer(options.Value, new ImapServices(Store, Users), endpoints, TimeProvider, LoggerFactory, MeterFactory), names);
    }
}
