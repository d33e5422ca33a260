using System.Diagnostics.Metrics;
using Mail.Protocols.Hosting.Configuration;
using Mail.Protocols.Imap;
using Mail.Protocols.Storage;
using Mail.Protocols.Users;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Mail.Protocols.Hosting.HostedServices;

/// <summary>
/// The IMAP server as a hosted service (<see cref="MailServiceCollectionExtensions.AddImapServer"/>): it serves every
/// folder of the container's <see cref="IMailboxStore"/> to the users of its <see cref="IUserDirectory"/>.
/// </summary>
public sealed class ImapServerService(IOptions<ImapServerOptions> options, IOptions<ImapListenersOptions> listeners, IServiceProvider services)
    : ProtocolServerService<ImapServer>
{
    /// <inheritdoc />
    protected override (ImapServer Server, IReadOnlyList<string> EndpointNames) CreateServer()
    {
        var settings = listeners.Value.Listeners;
        var endpoints = settings.Select(l => new ImapEndpoint(l.ToEndPoint(), l.ImplicitTls)).ToList();
        var names = NamesOf(settings.Select(l => (l.Name, l.ImplicitTls ? "imaps" : "imap")));
        var backends = new ImapServices(services.GetRequiredService<IMailboxStore>(), services.GetRequiredService<IUserDirectory>());
        var server = new ImapServer(options.Value, backends, endpoints, services.GetService<TimeProvider>(), services.GetService<ILoggerFactory>(),
            services.GetService<IMeterFactory>());
        return (server, names);
    }
}
