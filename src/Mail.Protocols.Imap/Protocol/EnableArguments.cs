namespace Mail.Protocols.Imap.Protocol;

/// <summary>ENABLE's arguments: <c>enable = "ENABLE" 1*(SP capability)</c> (RFC 5161), in upper case, each once.</summary>
internal sealed record EnableArguments(IReadOnlyList<string> Capabilities)
{
    public static EnableArguments Parse(ref ImapReader reader)
    {
        var capabilities = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        reader.ReadSpace("Expected a capability");
        do
        {
            var capability = reader.ReadAtomString("Expected a capability").ToUpperInvariant();
            if (seen.Add(capability))
            {
                capabilities.Add(capability);
            }
        }
        while (reader.TryReadSpace());
        reader.ReadEnd();
        return new EnableArguments(capabilities);
    }
}
