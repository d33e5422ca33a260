// A small mail host, published with Native AOT: MailHost over a Maildir store and a file queue, configured in code (the
// registrations that read configuration bind by reflection and are not for AOT). It prints its ports, then serves until
// its standard input closes. tests/PackageConsumer/run.sh sends mail to it with curl and reads it back over IMAP and POP3.
//
// Relayed mail goes to a smart host that is this host's own SMTP port, which refuses to relay for an unauthenticated
// client: a relayed message comes back to its sender as a bounce, so one message crosses the queue (enqueue, lease, give
// up, the bounce queued and delivered) and the store.
using System.Net;
using System.Net.Sockets;
using Mail.Protocols.Hosting;
using Mail.Protocols.Maildir;
using Mail.Protocols.Maildir.Queue;
using Mail.Protocols.Smtp.Delivery;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: AotHost DIRECTORY");
    return 2;
}
var smtpPort = FreePort();
using var store = new MaildirMailboxStore(Path.Combine(args[0], "mail"));
using var queue = new FileMessageQueue(Path.Combine(args[0], "queue"));
var options = new MailHostOptions
{
    Store = store,
    Queue = queue,
    SmtpPort = smtpPort,
    SubmissionPort = 0,
    SmtpsPort = null,
    Pop3Port = 0,
    Pop3sPort = null,
    ImapPort = 0,
    ImapsPort = null,
    ServerName = "aot.example.test",
    DeliveryPollInterval = TimeSpan.FromMilliseconds(200),
    Delivery = new DeliveryAgentOptions { SmartHost = new DnsEndPoint("127.0.0.1", smtpPort), RetryInterval = TimeSpan.FromSeconds(1) },
};
options.Domains.Add("example.test");
options.Users.Add(("alice@example.test", "alice"));
await using var host = new MailHost(options);
await host.StartAsync();
Console.WriteLine(string.Join(' ', host.EndPoints.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => $"{e.Key}={e.Value.Port}")));
await Console.In.ReadToEndAsync();
await host.StopAsync();
return 0;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}
