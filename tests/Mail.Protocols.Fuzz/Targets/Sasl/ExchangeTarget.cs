using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Mail.Protocols.InMemory;
using Mail.Protocols.Sasl;
using Microsoft.Extensions.Time.Testing;

namespace Mail.Protocols.Fuzz.Targets.Sasl;

/// <summary>
/// One SASL exchange of every mechanism (PLAIN, LOGIN, CRAM-MD5, SCRAM-SHA-256, OAUTHBEARER, XOAUTH2), server side, against a fixed user
/// directory. The input is the client's messages, one per line (raw octets, the base64 layer being the protocols'):
/// the first line is the initial response ("*" for none), each next line answers a challenge. A line "@right" is
/// replaced by the answer a client that knows alice's password computes for the challenge just sent (CRAM-MD5's digest,
/// SCRAM's client-final with its proof), "@wrong" by the same computed with a wrong password, so the exchanges reach
/// success and the failure after a full exchange. Properties: no mechanism throws; a success names alice or bob and
/// comes only when the client showed that user's password (in PLAIN's or LOGIN's fields, or through "@right") or, for
/// the bearer-token mechanisms, alice's token (the only one the validator knows), never
/// from "@wrong" or made-up data; SCRAM's success carries the server signature; SCRAM's first challenge has the same
/// shape and iteration count for an unknown login as for a known one (no user enumeration); no exchange asks for more
/// than three answers.
/// </summary>
internal sealed class ExchangeTarget : IFuzzTarget
{
    private const string Alice = "alice@example.test", AlicePassword = "alice-secret";
    private const string Bob = "bob@example.test", BobPassword = "bob-secret";
    private static readonly InMemoryUserDirectory s_users = CreateUsers();
    private static readonly FakeTimeProvider s_time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private static readonly byte[] s_unknownUserKey = [.. Enumerable.Range(1, 32).Select(i => (byte)i)];
    private static readonly ConcurrentDictionary<(string Password, string Salt, int Iterations), byte[]> s_salted = new();

    private const string AliceToken = "alice-token";
    private static readonly SaslMechanismRegistry s_registry = new SaslMechanismRegistry().AddOAuthBearer(new OneToken()).AddXOAuth2(new OneToken());

    // The application's token check: one token, alice's.
    private sealed class OneToken : IOAuthTokenValidator
    {
        public ValueTask<string?> ValidateAsync(OAuthToken token, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(token.Token == AliceToken ? Alice : null);
    }

    public string Name => "SaslExchange";

    public void Run(ReadOnlySpan<byte> input)
    {
        var lines = new List<byte[]>();
        foreach (var range in input.Split((byte)'\n'))
        {
            lines.Add(input[range].ToArray());
        }

        foreach (var mechanism in SaslMechanisms.BuiltIn.Append(SaslMechanisms.OAuthBearer).Append(SaslMechanisms.XOAuth2))
        {
            Exchange(mechanism, lines);
        }
    }

    private static InMemoryUserDirectory CreateUsers()
    {
        var users = new InMemoryUserDirectory();
        users.AddUser(Alice, AlicePassword);
        users.AddUser(Bob, BobPassword);
        return users;
    }

    private static void Exchange(string name, List<byte[]> lines)
    {
        var mechanism = s_registry.Create(name, new SaslContext(s_users, "mx.example.test", s_time, s_unknownUserKey, "smtp"))!;
        var initial = lines[0] is [(byte)'*'] ? null : lines[0];
        var sent = new List<byte[]>();
        if (initial is not null)
        {
            sent.Add(initial);
        }

        var rightUsed = false;
        var step = Complete(mechanism.StartAsync(initial));
        byte[]? lastChallenge = null;
        var answers = 0;
        for (var next = 1; step.Kind == SaslStepKind.Challenge && next < lines.Count; next++)
        {
            Fuzz.Check(++answers <= 3, $"{name}: more than three challenges");
            lastChallenge = step.Data!;
            CheckChallenge(name, sent, lastChallenge);
            var line = lines[next];
            if (line.AsSpan().SequenceEqual("@right"u8) || line.AsSpan().SequenceEqual("@wrong"u8))
            {
                var right = line[1] == (byte)'r';
                var computed = Answer(name, sent, lastChallenge, right ? AlicePassword : "not-" + AlicePassword);
                rightUsed |= right && computed is not null;
                line = computed ?? line;
            }

            sent.Add(line);
            step = Complete(mechanism.StepAsync(line));
        }

        if (step.Kind != SaslStepKind.Success)
        {
            return;
        }

        var user = step.User!.Login;
        Fuzz.Check(user is Alice or Bob, $"{name}: authenticated as {user}");
        var password = Encoding.UTF8.GetBytes(user == Alice ? AlicePassword : BobPassword);
        var shown = name switch
        {
            SaslMechanisms.Plain or SaslMechanisms.Login => sent.Any(message => message.AsSpan().IndexOf(password) >= 0),
            SaslMechanisms.OAuthBearer or SaslMechanisms.XOAuth2 => user == Alice && sent.Any(message => message.AsSpan().IndexOf("alice-token"u8) >= 0),
            _ => rightUsed && user == Alice,
        };
        Fuzz.Check(shown, $"{name}: authenticated as {user} without that user's password");
        if (name == SaslMechanisms.ScramSha256)
        {
            Fuzz.Check(step.Data is [(byte)'v', (byte)'=', ..], "SCRAM-SHA-256: a success without the server signature");
        }
    }

    private static SaslStep Complete(ValueTask<SaslStep> step)
    {
        Fuzz.Check(step.IsCompleted, "a SASL step against the in-memory directory did not complete at once");
        return step.Result;
    }

    // SCRAM's server-first-message: "r=<client nonce + server nonce>,s=<salt>,i=4096", for any login, known or not.
    private static void CheckChallenge(string name, List<byte[]> sent, byte[] challenge)
    {
        if (name != SaslMechanisms.ScramSha256 || sent.Count != 1)
        {
            return;
        }

        var text = Encoding.ASCII.GetString(challenge);
        var parts = text.Split(',');
        Fuzz.Check(parts.Length == 3 && parts[0].StartsWith("r=", StringComparison.Ordinal) && parts[1].StartsWith("s=", StringComparison.Ordinal)
            && parts[2] == "i=" + ScramCredentials.DefaultIterations.ToString(System.Globalization.CultureInfo.InvariantCulture),
            $"SCRAM-SHA-256: the server-first-message \"{text}\"");
        Fuzz.Equal(16, Convert.FromBase64String(parts[1][2..]).Length, "SCRAM-SHA-256: the salt's length");
    }

    // What a client that knows the password answers to this challenge; null when the exchange is not at that point.
    private static byte[]? Answer(string name, List<byte[]> sent, byte[] challenge, string password)
    {
        switch (name)
        {
            case SaslMechanisms.CramMd5:
#pragma warning disable CA5351 // RFC 2195's MD5, computed as the client would.
                var digest = HMACMD5.HashData(Encoding.UTF8.GetBytes(password), challenge);
#pragma warning restore CA5351
                return Encoding.ASCII.GetBytes($"{Alice} {Convert.ToHexStringLower(digest)}");
            case SaslMechanisms.ScramSha256 when sent.Count == 1:
                var clientFirst = Encoding.UTF8.GetString(sent[0]);
                var bareAt = clientFirst.IndexOf(',', clientFirst.IndexOf(',', StringComparison.Ordinal) + 1) + 1;
                var serverFirst = Encoding.ASCII.GetString(challenge);
                var fields = serverFirst.Split(',');
                var salted = s_salted.GetOrAdd((password, fields[1][2..], int.Parse(fields[2][2..], System.Globalization.CultureInfo.InvariantCulture)),
                    key => Rfc2898DeriveBytes.Pbkdf2(key.Password, Convert.FromBase64String(key.Salt), key.Iterations, HashAlgorithmName.SHA256, 32));
                var withoutProof = $"c={Convert.ToBase64String(Encoding.UTF8.GetBytes(clientFirst[..bareAt]))},{fields[0]}";
                var authMessage = Encoding.UTF8.GetBytes($"{clientFirst[bareAt..]},{serverFirst},{withoutProof}");
                var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
                var signature = HMACSHA256.HashData(SHA256.HashData(clientKey), authMessage);
                for (var i = 0; i < clientKey.Length; i++)
                {
                    clientKey[i] ^= signature[i];
                }

                return Encoding.UTF8.GetBytes($"{withoutProof},p={Convert.ToBase64String(clientKey)}");
            default:
                return null;
        }
    }
}
