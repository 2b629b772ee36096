using System.Reflection;
using System.Reflection.Emit;

namespace Berth.Tests;

/// <summary>
/// Dependencies point inward: Oci ← Core ← {providers, Auth} ← Application ← Api ← Berth, providers never reference
/// each other, Application and Core do not use ASP.NET Core, and inside each assembly namespaces point one way (no
/// cycle). The namespace graph is read from the compiled types: signatures, attributes and every type, method and
/// field a method body names (IL tokens), so a reference through a parent namespace without a using counts too.
/// </summary>
public sealed class ArchitectureTests
{
    private static readonly Dictionary<string, string[]> AllowedReferences = new(StringComparer.Ordinal)
    {
        ["Berth.Oci"] = [],
        ["Berth.Core"] = ["Berth.Oci"],
        ["Berth.Scanning"] = ["Berth.Oci"],
        ["Berth.Signing"] = ["Berth.Oci"],
        ["Berth.Storage.FileSystem"] = ["Berth.Oci", "Berth.Core"],
        ["Berth.Storage.S3"] = ["Berth.Oci", "Berth.Core"],
        ["Berth.Metadata.Sqlite"] = ["Berth.Oci", "Berth.Core"],
        ["Berth.Storage.Azure"] = ["Berth.Oci", "Berth.Core"],
        ["Berth.Metadata.Postgres"] = ["Berth.Oci", "Berth.Core"],
        ["Berth.Auth"] = ["Berth.Oci", "Berth.Core"],
        ["Berth.Application"] = ["Berth.Oci", "Berth.Core", "Berth.Scanning", "Berth.Signing", "Berth.Auth"],
        ["Berth.Api"] = ["Berth.Oci", "Berth.Core", "Berth.Scanning", "Berth.Signing", "Berth.Auth", "Berth.Application"],
        ["Berth"] = ["Berth.Oci", "Berth.Core", "Berth.Scanning", "Berth.Signing", "Berth.Auth", "Berth.Application", "Berth.Api", "Berth.Storage.FileSystem", "Berth.Storage.S3", "Berth.Storage.Azure", "Berth.Metadata.Sqlite", "Berth.Metadata.Postgres"],
    };

    public static TheoryData<string> Assemblies => new(AllowedReferences.Keys);

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void ProjectReferences_PointInward(string name)
    {
        var references = Load(name).GetReferencedAssemblies().Select(a => a.Name!).Where(n => n == "Berth" || n.StartsWith("Berth.", StringComparison.Ordinal));
        Assert.Empty(references.Except(AllowedReferences[name]));
    }

    [Theory]
    [InlineData("Berth.Oci")]
    [InlineData("Berth.Core")]
    [InlineData("Berth.Scanning")]
    [InlineData("Berth.Signing")]
    [InlineData("Berth.Auth")]
    [InlineData("Berth.Application")]
    [InlineData("Berth.Storage.FileSystem")]
    [InlineData("Berth.Storage.S3")]
    [InlineData("Berth.Metadata.Sqlite")]
    [InlineData("Berth.Storage.Azure")]
    public void InnerAssemblies_DoNotUseAspNetCore(string name)
    {
        var aspNet = Load(name).GetReferencedAssemblies().Select(a => a.Name!).Where(n => n.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal));
        Assert.Empty(aspNet);
    }

    /// <summary>
    /// Cycles that exist today and are still to be broken (issue 11 item 4): a found cycle must lie inside one of these,
    /// so no new one can appear and these can only shrink. Remove an entry once its cycle is gone.
    /// </summary>
    private static readonly Dictionary<string, string[][]> KnownCycles = new(StringComparer.Ordinal)
    {
        // None left: Berth.Core and Berth.Api are both free of namespace cycles.
    };

    [Theory]
    [MemberData(nameof(Assemblies))]
    public void Namespaces_HaveNoCycle(string name)
    {
        var known = KnownCycles.TryGetValue(name, out var list) ? list : [];
        var cycles = NamespaceGraph.Cycles(NamespaceGraph.Of(Load(name)))
            .Where(cycle => !known.Any(k => cycle.All(k.Contains)))
            .ToList();
        Assert.True(cycles.Count == 0, $"namespace cycles in {name}: " + string.Join("; ", cycles.Select(c => string.Join(" ↔ ", c))));
    }

    /// <summary>Berth.Api's folders point one way: Hosting ← Access ← Distribution, Management.</summary>
    [Theory]
    [InlineData("Berth.Api.Hosting", new[] { "Berth.Api.Access", "Berth.Api.Distribution", "Berth.Api.Management" })]
    [InlineData("Berth.Api.Access", new[] { "Berth.Api.Distribution", "Berth.Api.Management" })]
    [InlineData("Berth.Api.Distribution", new[] { "Berth.Api.Management" })]
    [InlineData("Berth.Api.Management", new[] { "Berth.Api.Distribution" })]
    public void Namespaces_BerthApi_PointOneWay(string from, string[] forbidden)
    {
        var graph = NamespaceGraph.Of(Load("Berth.Api"));
        Assert.True(graph.ContainsKey(from), $"{from} has no types");
        Assert.Empty(graph[from].Intersect(forbidden));
    }

    [Fact]
    public void Cycles_GraphWithACycle_FindsIt()
    {
        var graph = new Dictionary<string, HashSet<string>>
        {
            ["A"] = ["B"],
            ["B"] = ["C"],
            ["C"] = ["A"],
            ["D"] = ["A"],
        };

        var cycle = Assert.Single(NamespaceGraph.Cycles(graph));
        Assert.Equal(["A", "B", "C"], cycle.Order());
    }

    [Fact]
    public void Of_ThisTestAssembly_SeesReferencesMadeOnlyInsideMethodBodies()
    {
        var graph = NamespaceGraph.Of(typeof(ArchitectureTests).Assembly);
        Assert.Contains("Berth.Tests.Fixtures.Second", graph["Berth.Tests.Fixtures.First"]);
    }

    private static Assembly Load(string name) => Assembly.Load(new AssemblyName(name));
}

/// <summary>Which namespaces of an assembly the types of each of its namespaces use (only the assembly's own).</summary>
internal static class NamespaceGraph
{
    private static readonly Dictionary<short, OpCode> OpCodesByValue = typeof(OpCodes)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Select(f => (OpCode)f.GetValue(null)!)
        .ToDictionary(o => o.Value);

    private const BindingFlags Everything = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static Dictionary<string, HashSet<string>> Of(Assembly assembly)
    {
        var root = assembly.GetName().Name!;
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var type in assembly.GetTypes())
        {
            var from = type.Namespace;
            if (!Owned(from, root))
            {
                continue;
            }

            var edges = graph.TryGetValue(from!, out var set) ? set : graph[from!] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var used in UsedTypes(type))
            {
                if (used.Assembly == assembly && Owned(used.Namespace, root) && used.Namespace != from)
                {
                    edges.Add(used.Namespace!);
                }
            }
        }

        return graph;
    }

    /// <summary>Strongly connected components of more than one namespace, each sorted.</summary>
    public static List<List<string>> Cycles(Dictionary<string, HashSet<string>> graph)
    {
        // Tarjan's algorithm.
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var result = new List<List<string>>();
        var next = 0;

        void Visit(string node)
        {
            index[node] = low[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (var target in graph.TryGetValue(node, out var targets) ? targets : [])
            {
                if (!index.ContainsKey(target))
                {
                    Visit(target);
                    low[node] = Math.Min(low[node], low[target]);
                }
                else if (onStack.Contains(target))
                {
                    low[node] = Math.Min(low[node], index[target]);
                }
            }

            if (low[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    result.Add(component);
                }
            }
        }

        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }

        return result;
    }

    // Generated code (regex, <PrivateImplementationDetails>) lives outside the assembly's namespaces.
    private static bool Owned(string? ns, string root) => ns is not null && (ns == root || ns.StartsWith(root + ".", StringComparison.Ordinal));

    private static IEnumerable<Type> UsedTypes(Type type)
    {
        var found = new HashSet<Type>();
        void Add(Type? t)
        {
            if (t is null || !found.Add(t))
            {
                return;
            }

            if (t.HasElementType)
            {
                Add(t.GetElementType());
            }

            if (t.IsGenericType && !t.IsGenericTypeDefinition)
            {
                Add(t.GetGenericTypeDefinition());
                foreach (var a in t.GetGenericArguments())
                {
                    Add(a);
                }
            }
        }

        void AddAttributes(IEnumerable<CustomAttributeData> attributes)
        {
            foreach (var a in attributes)
            {
                Add(a.AttributeType);
                foreach (var arg in a.ConstructorArguments.Concat(a.NamedArguments.Select(n => n.TypedValue)))
                {
                    Add(arg.ArgumentType);
                    if (arg.Value is Type t)
                    {
                        Add(t);
                    }
                }
            }
        }

        Add(type.BaseType);
        foreach (var i in type.GetInterfaces())
        {
            Add(i);
        }

        AddAttributes(type.CustomAttributes);
        foreach (var field in type.GetFields(Everything))
        {
            Add(field.FieldType);
            AddAttributes(field.CustomAttributes);
        }

        foreach (var property in type.GetProperties(Everything))
        {
            Add(property.PropertyType);
            AddAttributes(property.CustomAttributes);
        }

        foreach (var method in type.GetMethods(Everything).Cast<MethodBase>().Concat(type.GetConstructors(Everything)))
        {
            AddAttributes(method.CustomAttributes);
            if (method is MethodInfo info)
            {
                Add(info.ReturnType);
            }

            foreach (var parameter in method.GetParameters())
            {
                Add(parameter.ParameterType);
            }

            foreach (var used in BodyReferences(method))
            {
                Add(used);
            }
        }

        return found.Where(t => !t.IsGenericParameter);
    }

    /// <summary>The declaring types of every type, method and field token in the method's IL.</summary>
    private static IEnumerable<Type> BodyReferences(MethodBase method)
    {
        var il = method.GetMethodBody()?.GetILAsByteArray();
        if (il is null)
        {
            return [];
        }

        var types = new List<Type>();
        var typeArgs = method.DeclaringType is { IsGenericType: true } d ? d.GetGenericArguments() : null;
        var methodArgs = method.IsGenericMethod ? method.GetGenericArguments() : null;
        var position = 0;
        while (position < il.Length)
        {
            short value = il[position++];
            if (value == 0xFE)
            {
                value = unchecked((short)(0xFE00 | il[position++]));
            }

            if (!OpCodesByValue.TryGetValue(value, out var opCode))
            {
                break; // unknown opcode: stop reading this body rather than misread it
            }

            switch (opCode.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    position += 1;
                    break;
                case OperandType.InlineVar:
                    position += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    position += 8;
                    break;
                case OperandType.InlineSwitch:
                    var count = BitConverter.ToInt32(il, position);
                    position += 4 + (4 * count);
                    break;
                case OperandType.InlineTok or OperandType.InlineType or OperandType.InlineMethod or OperandType.InlineField:
                    var token = BitConverter.ToInt32(il, position);
                    position += 4;
                    try
                    {
                        var member = method.Module.ResolveMember(token, typeArgs, methodArgs);
                        switch (member)
                        {
                            case Type t:
                                types.Add(t);
                                break;
                            case MethodBase m:
                                types.Add(m.DeclaringType!);
                                if (m is MethodInfo mi)
                                {
                                    types.Add(mi.ReturnType);
                                    types.AddRange(mi.IsGenericMethod ? mi.GetGenericArguments() : []);
                                }

                                break;
                            case FieldInfo f:
                                types.Add(f.DeclaringType!);
                                types.Add(f.FieldType);
                                break;
                        }
                    }
                    catch (Exception ex) when (ex is ArgumentException or TypeLoadException or FileNotFoundException or BadImageFormatException)
                    {
                        // A token that does not resolve here (vararg or a missing optional assembly) names nothing of ours.
                    }

                    break;
                default:
                    position += 4; // InlineBrTarget, InlineI, InlineR4 (ShortInlineR), InlineSig, InlineString
                    break;
            }
        }

        return types.Where(t => t is not null);
    }
}
