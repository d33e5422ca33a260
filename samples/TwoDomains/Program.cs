// samples/TwoDomains: two organisations on one machine. sample.test runs on 127.0.0.2, isp-provider.test on
// 127.0.0.3. A message submitted to sample.test for a user of isp-provider.test is looked up in "DNS" (a
// small static zone here; pass --dns SERVER[:PORT] to use a real name server), relayed over SMTP, and read
// back from isp-provider.test's POP3 mailbox.
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Mail.Protocols.Connections;
using Mail.Protocols.Hosting;
using Mail.Protocols.Queue;
using Mail.Protocols.Smtp.Client;
using Mail.Protocols.Smtp.Delivery;
using Mail.Protocols.Smtp.Dns;
using TwoDomains;

const int SmtpPort = 2525, SubmissionPort = 2587, Pop3Port = 1110;
Mail.Protocols.Dns.IDnsResolver resolver = new StaticZone(new()
{
    ["sample.test"] = ("mx.sample.test", IPAddress.Parse("127.0.0.2")),
    ["isp-provider.test"] = ("mx.isp-provider.test", IPAddress.Parse("127.0.0.3")),
});
if (args is ["--dns", var server])
{
    var options = new DnsResolverOptions();
    options.NameServers.Add(IPEndPoint.Parse(server.Contains(':', StringComparison.Ordinal) ? server : server + ":53"));
    resolver = new DnsClientResolver(options);
}

MailHostOptions Host(string address, string domain, string user) 
{
    var options = new MailHostOptions
    {
        BindAddress = IPAddress.Parse(address), SmtpPort = SmtpPort, SubmissionPort = SubmissionPort, SmtpsPort = null,
        Pop3Port = Pop3Port, Pop3sPort = null, ImapPort = null, ImapsPort = null, ServerName = "mx." + domain,
        Delivery = new DeliveryAgentOptions { Port = SmtpPort }, DnsResolver = resolver, DeliveryPollInterval = TimeSpan.FromMilliseconds(200),
        // A certificate for the name clients use, so that a client that checks it (one with a login) can trust it.
        Certificate = SelfSignedCertificate.Create("mx." + domain),
    };
    options.Domains.Add(domain);
    options.Users.Add((user, "secret"));
    return options;
}

await using var sample = new MailHost(Host("127.0.0.2", "sample.test", "ann@sample.test"));
await using var isp = new MailHost(Host("127.0.0.3", "isp-provider.test", "ian@isp-provider.test"));
await sample.StartAsync();
await isp.StartAsync();
Console.WriteLine("sample.test       SMTP 127.0.0.2:2525, submission :2587, POP3 :1110 (user ann@sample.test / secret)");
Console.WriteLine("isp-provider.test SMTP 127.0.0.3:2525, submission :2587, POP3 :1110 (user ian@isp-provider.test / secret)");

// Ann submits a message to her own server (STARTTLS, AUTH), addressed to Ian at the other organisation. Her password
// goes only to a server whose certificate checks out: the sample's is self-signed, so her client is told to trust it.
var clientOptions = new SmtpClientOptions
{
    LocalName = "ann-laptop", Credentials = new NetworkCredential("ann@sample.test", "secret"),
    TrustedCertificates = { X509CertificateLoader.LoadCertificate(sample.Certificate.RawData) },
};
await using (var submission = await SmtpClientConnection.ConnectAsync(new IPEndPoint(IPAddress.Parse("127.0.0.2"), SubmissionPort), "mx.sample.test", clientOptions))
{
    var message = "From: ann@sample.test\r\nTo: ian@isp-provider.test\r\nSubject: Hello from sample.test\r\n\r\nHi Ian, this crossed two mail servers.\r\n"u8.ToArray();
    var envelope = new QueueEnvelope("ann@sample.test", [new QueueRecipient("ian@isp-provider.test")], DateTimeOffset.UtcNow);
    var results = await submission.SendAsync(envelope, new MemoryStream(message));
    Console.WriteLine($"submission to sample.test: {results[0].Reply}");
    await submission.QuitAsync();
}

// sample.test's delivery agent looks up isp-provider.test's MX and relays the message.
for (var i = 0; i < 100 && (await isp.Store.ListMessagesAsync("ian@isp-provider.test", "INBOX")).Count == 0; i++)
{
    await Task.Delay(100);
}
var inbox = await isp.Store.ListMessagesAsync("ian@isp-provider.test", "INBOX");
if (inbox.Count == 0)
{
    Console.WriteLine("the message did not arrive");
    return 1;
}
await using (var content = await isp.Store.OpenContentAsync("ian@isp-provider.test", "INBOX", inbox[0].Uid))
{
    Console.WriteLine("\nian@isp-provider.test's INBOX now holds:\n");
    Console.WriteLine(await new StreamReader(content, Encoding.UTF8).ReadToEndAsync());
}
Console.WriteLine("Read it over POP3 too:  curl -k --ssl-reqd pop3://127.0.0.3:1110/1 -u ian@isp-provider.test:secret");
if (args.Contains("--exit"))
{
    return 0;
}
Console.WriteLine("Press Enter to stop.");
Console.ReadLine();
return 0;
