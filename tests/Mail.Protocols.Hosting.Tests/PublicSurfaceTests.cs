using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace Mail.Protocols.Hosting.Tests;

/// <summary>
/// docs/public-surface.md's rule for InternalsVisibleTo: a shipped assembly shows its internals only to its own test,
/// benchmark and fuzz projects, never to another shipped assembly and never to a project that does not exist.
/// </summary>
public sealed partial class PublicSurfaceTests
{
    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Mail.Protocols.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("Mail.Protocols.sln not found above " + AppContext.BaseDirectory);
    }

    private static string[] ProjectNames(string root, string folder) =>
        [.. Directory.GetFiles(Path.Combine(root, folder), "*.csproj", SearchOption.AllDirectories).Select(Path.GetFileNameWithoutExtension)!];

    [GeneratedRegex("""<InternalsVisibleTo\s+Include="([^"]+)"|InternalsVisibleTo\("([^"]+)"\)""")]
    private static partial Regex InternalsVisibleTo();

    [Fact]
    public void No_shipped_project_shows_its_internals_to_another_shipped_project_or_to_one_that_does_not_exist()
    {
        var root = RepositoryRoot();
        var shipped = ProjectNames(root, "src");
        var others = ProjectNames(root, "tests").Concat(ProjectNames(root, "benchmarks")).ToHashSet();
        Assert.Contains("Mail.Protocols", shipped);
        var seen = 0;
        foreach (var file in Directory.GetFiles(Path.Combine(root, "src"), "*.*", SearchOption.AllDirectories)
            .Where(f => (f.EndsWith(".csproj", StringComparison.Ordinal) || f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".props", StringComparison.Ordinal))
                && !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            foreach (Match match in InternalsVisibleTo().Matches(File.ReadAllText(file)))
            {
                var target = match.Groups[1].Success ? match.Groups[1].Value : match.Groups[2].Value;
                Assert.False(shipped.Contains(target), $"{file} shows its internals to the shipped {target}");
                Assert.True(others.Contains(target), $"{file} shows its internals to {target}, which is no project under tests/ or benchmarks/");
                seen++;
            }
        }
        Assert.True(seen > 0); // the check read the declarations that exist
    }

    [Fact]
    public void The_built_shipped_assemblies_agree()
    {
        var shipped = ProjectNames(RepositoryRoot(), "src").ToHashSet();
        Assembly[] assemblies = [typeof(MailServerOptions).Assembly, typeof(Smtp.SmtpServer).Assembly, typeof(Pop3.Pop3Server).Assembly,
            typeof(Imap.ImapServer).Assembly, typeof(InMemory.InMemoryMailboxStore).Assembly, typeof(Maildir.MaildirMailboxStore).Assembly, typeof(MailHost).Assembly];
        foreach (var assembly in assemblies)
        {
            Assert.Contains(assembly.GetName().Name!, shipped);
            foreach (var attribute in assembly.GetCustomAttributes<InternalsVisibleToAttribute>())
            {
                Assert.DoesNotContain(attribute.AssemblyName, shipped);
            }
        }
    }
}
