using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Pop3;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// The POP3 server as a hosted service (<see cref="MailServiceCollectionExtensions.AddPop3Server"/>): it serves the INBOX
/// of the container's <see cref="IMailboxStore"/> to the users of its <see cref="IUserDirectory"/>.
/// </summary>
public sealed class Pop3ServerService(IOptions<Pop3ServerOptions> options, IOptions<Pop3ListenersOptions> listeners, IServiceProvider services)
    : ProtocolServerService<Pop3Server>(services)
{
    /// <inheritdoc />
    protected override (Pop3Server Server, IReadOnlyList<string> EndpointNames)? CreateServer()
    {
        var (endpoints, names) = EndpointsOf(listeners.Value.Listeners, (listener, endPoint) => new Pop3Endpoint(endPoint, listener.ImplicitTls),
            listener => listener.ImplicitTls ? "pop3s" : "pop3");
        if (endpoints.Count == 0)
        {
            return null;
        }
        return (new Pop3Server(options.Value, new Pop3Services(Store, Users), endpoints, TimeProvider, LoggerFactory, MeterFactory), names);
    }
}
