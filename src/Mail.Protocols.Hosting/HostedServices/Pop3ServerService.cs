using System.Diagnostics.Metrics;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Pop3;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// The POP3 server as a hosted service (<see cref="MailServiceCollectionExtensions.AddPop3Server"/>): it serves the INBOX
/// of the container's <see cref="IMailboxStore"/> to the users of its <see cref="IUserDirectory"/>.
/// </summary>
public sealed class Pop3ServerService(IOptions<Pop3ServerOptions> options, IOptions<Pop3ListenersOptions> listeners, IServiceProvider services)
    : ProtocolServerService<Pop3Server>
{
    /// <inheritdoc />
    protected override (Pop3Server Server, IReadOnlyList<string> EndpointNames) CreateServer()
    {
        var settings = listeners.Value.Listeners;
        var endpoints = settings.Select(l => new Pop3Endpoint(l.ToEndPoint(), l.ImplicitTls)).ToList();
        var names = NamesOf(settings.Select(l => (l.Name, l.ImplicitTls ? "pop3s" : "pop3")));
        var backends = new Pop3Services(services.GetRequiredService<IMailboxStore>(), services.GetRequiredService<IUserDirectory>());
        var server = new Pop3Server(options.Value, backends, endpoints, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>(),
            services.GetService<IMeterFactory>());
        return (server, names);
    }
}
