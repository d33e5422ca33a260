using System.Net;
using Mail.Protocols.Dns;
using Mail.Protocols.Smtp.Dns;

namespace Mail.Protocols.Smtp.Tests.Dns;

/// <summary>The resolver's decision table (RFC 5321 §5.1, RFC 7505) against a real DNS server over the wire.</summary>
public sealed class DnsClientResolverTests(DnsmasqFixture dns) : IClassFixture<DnsmasqFixture>
{
    private DnsClientResolver Resolver(TimeSpan? timeout = null)
    {
        var options = new DnsResolverOptions { Timeout = timeout ?? TimeSpan.FromSeconds(3), Retries = 0, UseCache = false };
        options.NameServers.Add(dns.Server.EndPoint);
        return new DnsClientResolver(options);
    }

    [Fact]
    public async Task Mx_hosts_come_in_preference_order()
    {
        var result = await Resolver().LookupMxAsync("mx.test");
        Assert.Equal(DnsLookupStatus.Found, result.Status);
        Assert.Equal(["mail.mx.test", "backup.mx.test"], result.Hosts.Select(h => h.Host));
        Assert.Equal([(ushort)10, (ushort)20], result.Hosts.Select(h => h.Preference));
    }

    [Fact]
    public async Task Equal_preferences_are_tried_in_random_order()
    {
        var resolver = Resolver();
        var firsts = new HashSet<string>();
        for (var i = 0; i < 40 && firsts.Count < 2; i++)
        {
            firsts.Add((await resolver.LookupMxAsync("equal.test")).Hosts[0].Host);
        }
        Assert.Equal(2, firsts.Count);
    }

    [Fact]
    public async Task Null_mx_is_a_permanent_refusal()
    {
        var result = await Resolver().LookupMxAsync("nullmx.test");
        Assert.Equal(DnsLookupStatus.NullMx, result.Status);
        Assert.Empty(result.Hosts);
    }

    [Fact]
    public async Task Domain_without_mx_reports_no_records_and_its_addresses_are_the_implicit_mx()
    {
        var resolver = Resolver();
        Assert.Equal(DnsLookupStatus.NoRecords, (await resolver.LookupMxAsync("nomx.test")).Status);
        var addresses = await resolver.LookupAddressesAsync("nomx.test");
        Assert.Equal(DnsLookupStatus.Found, addresses.Status);
        Assert.Contains(IPAddress.Parse("127.0.0.4"), addresses.Addresses);
        Assert.Contains(IPAddress.IPv6Loopback, addresses.Addresses);
    }

    [Fact]
    public async Task Unknown_domain_is_no_such_domain()
    {
        var resolver = Resolver();
        Assert.Equal(DnsLookupStatus.NoSuchDomain, (await resolver.LookupMxAsync("unknown.test")).Status);
        Assert.Equal(DnsLookupStatus.NoSuchDomain, (await resolver.LookupAddressesAsync("unknown.test")).Status);
    }

    [Fact]
    public async Task Timeouts_are_temporary_failures_never_permanent()
    {
        var slow = await Resolver(TimeSpan.FromMilliseconds(500)).LookupMxAsync("slow.test");
        Assert.Equal(DnsLookupStatus.TemporaryFailure, slow.Status);

        // Nothing listens on this port: the test bound it and closed it again.
        var options = new DnsResolverOptions { Timeout = TimeSpan.FromMilliseconds(300), Retries = 0, UseCache = false };
        options.NameServers.Add(ClosedUdpPort());
        var silent = new DnsClientResolver(options);
        Assert.Equal(DnsLookupStatus.TemporaryFailure, (await silent.LookupMxAsync("mx.test")).Status);
        Assert.Equal(DnsLookupStatus.TemporaryFailure, (await silent.LookupAddressesAsync("mail.mx.test")).Status);
    }

    private static IPEndPoint ClosedUdpPort()
    {
        using var socket = new System.Net.Sockets.Socket(System.Net.Sockets.AddressFamily.InterNetwork, System.Net.Sockets.SocketType.Dgram, System.Net.Sockets.ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return (IPEndPoint)socket.LocalEndPoint!;
    }

    [Fact]
    public async Task Exchanger_addresses_and_address_literals_resolve()
    {
        var resolver = Resolver();
        Assert.Equal([IPAddress.Parse("127.0.0.2")], (await resolver.LookupAddressesAsync("mail.mx.test")).Addresses);
        Assert.Equal([IPAddress.Parse("192.0.2.7")], (await resolver.LookupAddressesAsync("[192.0.2.7]")).Addresses);
    }
}

/// <summary>One dnsmasq for all the resolver tests.</summary>
public sealed class DnsmasqFixture : IDisposable
{
    public DnsmasqServer Server { get; } = new();

    public void Dispose() => Server.Dispose();
}
