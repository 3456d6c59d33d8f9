// Both runs printed their line: the job succeeded with its output, and on the module path the API and the engine
// were the named modules dev.skyport.api and dev.skyport.core.
def log = new File(basedir, 'build.log').text
def expected = [
    'consumer class-path: state=SUCCEEDED stdout=hello from the class-path api-module=unnamed core-module=unnamed',
    'consumer module-path: state=SUCCEEDED stdout=hello from the module-path api-module=dev.skyport.api core-module=dev.skyport.core',
]
expected.each { line ->
    if (!log.contains(line)) {
        throw new AssertionError("build.log lacks: " + line)
    }
}
return true
